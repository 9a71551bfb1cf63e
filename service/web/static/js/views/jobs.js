// The caller's jobs, newest first, kept current by the live stream; the upload panel on top.

import { api, errorText } from "../api.js";
import { announce, fill, h } from "../dom.js";
import { ACTIVE, jobCard, progressOf, updateCard } from "../jobcard.js";
import * as live from "../live.js";
import * as notify from "../notify.js";
import * as upload from "./upload.js";

export function render(main, { me }) {
  return jobList(main, { me, heading: "Your jobs", withUpload: true });
}

/** Shared with the admin view: a live list of the jobs GET /api/jobs returns to the caller. */
export function jobList(main, { me, heading, withUpload, cardOptions = {} }) {
  document.title = `${heading} · Video Refresher`;
  const list = h("ul", { class: "jobs", "aria-live": "off" });
  const message = h("p", { class: "error", role: "alert" });
  const empty = h("p", { class: "muted empty" }, "No jobs yet.");
  const jobs = new Map(); // job_id -> {job, card, live}
  let closed = false;

  const panel = withUpload ? upload.panel(me, { onCreated: (job) => refresh(job.job_id, true) }) : null;
  fill(
    main,
    h("h1", { tabindex: "-1" }, heading),
    panel?.node,
    h(
      "section",
      { "aria-labelledby": "jobs-heading" },
      h("div", { class: "section-head" }, h("h2", { id: "jobs-heading" }, "Jobs"), notifyToggle()),
      message,
      list,
      empty,
    ),
  );

  async function load() {
    try {
      const page = await api("/api/jobs?limit=50");
      if (closed) return;
      jobs.clear();
      fill(list, page.jobs.map((job) => {
        const card = jobCard(job, cardOptions);
        jobs.set(job.job_id, { job, card });
        return card;
      }));
      showEmpty();
      title();
    } catch (error) {
      message.textContent = errorText(error);
    }
  }

  async function refresh(jobId, isNew = false) {
    let job;
    try {
      job = await api(`/api/jobs/${jobId}`);
    } catch {
      return; // gone or not ours: nothing to show
    }
    if (closed) return;
    const entry = jobs.get(jobId);
    if (entry) {
      const before = entry.job.status;
      entry.job = job;
      updateCard(entry.card, job, cardOptions, ACTIVE.has(job.status) ? entry.live : undefined);
      if (ACTIVE.has(before) && !ACTIVE.has(job.status)) {
        announce(`Job ${job.sources.map((s) => s.name).join(", ")}: ${job.status}`);
        notify.finished(job);
      }
    } else if (isNew || !jobs.size || Date.parse(job.created_at) >= newest()) {
      const card = jobCard(job, cardOptions);
      jobs.set(jobId, { job, card });
      list.prepend(card);
    }
    showEmpty();
    title();
  }

  function newest() {
    return Math.max(0, ...[...jobs.values()].map((e) => Date.parse(e.job.created_at)));
  }

  function showEmpty() {
    empty.hidden = jobs.size > 0;
  }

  function title() {
    const active = [...jobs.values()].filter((e) => ACTIVE.has(e.job.status));
    if (!active.length) {
      document.title = `${heading} · Video Refresher`;
      return;
    }
    const total = active.reduce((sum, e) => sum + progressOf(e.job, e.live), 0);
    document.title = `(${Math.round((100 * total) / active.length)}%) ${heading} · Video Refresher`;
  }

  const unsubscribe = live.subscribe(({ type, jobId, data }) => {
    if (type === "resync") {
      load();
      return;
    }
    if (!jobId) return;
    if (type === "progress") {
      const entry = jobs.get(jobId);
      if (!entry || !ACTIVE.has(entry.job.status)) return;
      entry.live = Number(data.percent) / 100;
      const bar = entry.card.querySelector("progress");
      if (bar) bar.value = Math.round(progressOf(entry.job, entry.live) * 100);
      title();
      return;
    }
    if (type !== "snapshot") refresh(jobId);
  });

  load();
  return () => {
    closed = true;
    unsubscribe();
    panel?.leave();
  };
}

/** A checkbox, so its state reads plainly; the browser's permission prompt comes only
 * after it is ticked (a click or Space), and a refusal is said in words. */
function notifyToggle() {
  if (!notify.supported()) return null;
  const box = h("input", { type: "checkbox", id: "notify", checked: notify.enabled() });
  const note = h("span", { class: "muted small", "aria-live": "polite" });
  box.addEventListener("change", async () => {
    note.textContent = "";
    if (!box.checked) {
      notify.disable();
      return;
    }
    box.checked = await notify.enable();
    if (!box.checked) note.textContent = "Your browser blocks notifications from this page.";
  });
  return h("div", { class: "toggle" },
    h("label", {}, box, "Show a browser notification when a job finishes"), note);
}
