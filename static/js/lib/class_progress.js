// How far a class is, in one line the professor reads from across the room
// ("214 de 300 listos"): so they know when to stop projecting. From a
// session's counters (docs/protocol.md §4.1): ready are the students who
// completed every round (present, late or doubtful) or whom the professor
// justified; of everyone who joined.

import { t } from "/static/js/lib/i18n.js";

const READY = ["present", "late", "doubtful", "justified"];

/** {ready, joined} of a session's counters. */
export function classProgress(counters) {
  return {
    ready: READY.reduce((total, name) => total + (counters[name] ?? 0), 0),
    joined: counters.joined ?? 0,
  };
}

/** The progress line for `counters`, from the message catalog. */
export function progressText(counters) {
  const { ready, joined } = classProgress(counters);
  return t("progress.ready", { ready, joined });
}
