// Admins: every job with its owner, and the power to expire one now.

import { jobList } from "./jobs.js";

export function render(main, { me }) {
  return jobList(main, {
    me,
    heading: "All jobs",
    withUpload: false,
    cardOptions: { owner: true, expire: true },
  });
}
