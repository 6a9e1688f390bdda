// The home page: who is logged in, and the way to their part of the app
// (students: their phone; staff: their sessions). The cards are in the
// template, shown by role (data-roles) once the token says who this is.

import { startPage } from "./chrome.js";

await startPage({ devRole: "alumno" });
