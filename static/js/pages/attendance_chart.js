// The course summary's chart: one bar per held session, its attendance rate
// (0–100 %), drawn as SVG at the element's own width so text stays legible
// on a phone and on a projector. No library: a handful of rects and labels.

import { t } from "/static/js/lib/i18n.js";
import { fill, svg } from "./dom.js";
import { formatDate, formatPercent } from "./format.js";

const MARGIN = { top: 22, right: 8, bottom: 30, left: 44 };
const MIN_LABEL_SPACING = 56;
const MAX_BAR_WIDTH = 72;
const TICKS = [0, 0.25, 0.5, 0.75, 1];

/**
 * Draw `points` ([{date, rate, attended, of}], `rate` a fraction or null) in
 * `element` (an <svg> with a <title> child, which gets the text version).
 */
export function drawAttendanceChart(element, points) {
  const title = element.querySelector("title");
  title.textContent = t("summary.chart.label", {
    points: points.map((p) => t("summary.chart.point", {
      date: formatDate(p.date), percent: formatPercent(p.rate), attended: p.attended, of: p.of,
    })).join("; "),
  });
  const width = Math.max(element.clientWidth, 200);
  const height = Math.max(element.clientHeight, 160);
  element.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const plotWidth = width - MARGIN.left - MARGIN.right;
  const plotHeight = height - MARGIN.top - MARGIN.bottom;
  const y = (rate) => MARGIN.top + plotHeight * (1 - rate);
  const slot = plotWidth / Math.max(points.length, 1);
  const barWidth = Math.min(MAX_BAR_WIDTH, Math.max(2, slot * 0.7));
  // Show every n-th date so labels never overlap; percentages only when there is room.
  const labelEvery = Math.ceil(MIN_LABEL_SPACING / slot);
  const roomForPercent = slot >= 34;

  const grid = TICKS.map((tick) => [
    svg("line", { class: "grid-line", x1: MARGIN.left, x2: width - MARGIN.right, y1: y(tick), y2: y(tick) }),
    svg("text", { class: "axis-label", x: MARGIN.left - 6, y: y(tick) + 4, "text-anchor": "end" }, formatPercent(tick)),
  ]);
  const bars = points.map((point, index) => {
    const rate = point.rate ?? 0;
    const x = MARGIN.left + index * slot + (slot - barWidth) / 2;
    const centre = x + barWidth / 2;
    return [
      svg("rect", { class: "bar", x, y: y(rate), width: barWidth, height: plotHeight * rate }),
      roomForPercent
        ? svg("text", { class: "bar-label", x: centre, y: y(rate) - 5, "text-anchor": "middle" },
              formatPercent(point.rate))
        : null,
      index % labelEvery === 0
        ? svg("text", { class: "axis-label", x: centre, y: height - 10, "text-anchor": "middle" },
              formatDate(point.date, { short: true }))
        : null,
    ];
  });
  fill(element, title, grid, bars);
}
