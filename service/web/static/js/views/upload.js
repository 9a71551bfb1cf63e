// The upload panel: pick or drop MP4/MOV files, choose the variations, watch each file's
// progress, speed and time left. Files go by tus (resumable: a dropped connection, or the
// same file picked again after a reload, continues where it stopped) when the service
// offers /api/uploads, else in one multipart POST /api/jobs. The job is created when all
// files are in.

import { ApiError, api, errorText } from "../api.js";
import { announce, fill, h } from "../dom.js";
import { bytes, duration } from "../format.js";

const VIDEO_NAME = /\.(mp4|mov|m4v)$/i;
const VIDEO_TYPES = new Set(["video/mp4", "video/quicktime", "video/x-m4v", ""]);
// 8 MiB per PATCH: small enough to pass proxies that cap bodies, large enough to be fast.
// A slow or flaky link may lower it (localStorage "vr-upload-chunk-bytes").
const CHUNK_BYTES = Number(localStorage.getItem("vr-upload-chunk-bytes")) || 8 * 1024 * 1024;

export function panel(me, { onCreated }) {
  const limits = me.limits;
  const entries = []; // {file, row, bar, info, error, sent, ok}
  const input = h("input", {
    id: "videos", type: "file", multiple: true, hidden: true,
    accept: ".mp4,.mov,video/mp4,video/quicktime",
  });
  // A real button opens the picker: Tab reaches it, Enter and Space press it, and it shows
  // its focus (a focused file input does neither in Chromium when Enter is pressed).
  const choose = h("button", {
    type: "button", "aria-describedby": "limits", onclick: () => input.click(),
  }, "Choose videos");
  const drop = h(
    "div",
    { class: "drop", id: "drop" },
    h("p", {}, "Drop MP4 or MOV videos here, or"),
    choose,
    input,
    h("p", { class: "muted small", id: "limits" }, limitText(limits)),
  );
  const variations = h("input", {
    id: "variations", type: "number", inputmode: "numeric", required: true,
    min: limits.variations.min, max: limits.variations.max, value: String(limits.variations.default),
  });
  const list = h("ul", { class: "files", "aria-label": "Files to upload" });
  const total = h("progress", { max: 100, value: 0, "aria-label": "Total upload progress", hidden: true });
  const totalText = h("p", { class: "muted small", "aria-live": "polite" });
  const message = h("p", { class: "error", role: "alert" });
  const start = h("button", { type: "submit", disabled: true }, "Upload and create job");
  const form = h(
    "form",
    { class: "card upload", "aria-labelledby": "upload-heading" },
    h("h2", { id: "upload-heading" }, "New job"),
    drop,
    list,
    total,
    totalText,
    h("div", { class: "row" },
      h("div", { class: "field inline" },
        h("label", { for: "variations" }, `Variations per video (${limits.variations.min}–${limits.variations.max})`),
        variations),
      start),
    message,
  );
  let busy = false;

  const add = (files) => {
    if (busy) return;
    message.textContent = "";
    for (const file of files) {
      const problem = refuse(file, limits, entries.filter((e) => e.ok).length);
      const entry = row(file, problem);
      entries.push(entry);
      list.append(entry.row);
    }
    start.disabled = !entries.some((e) => e.ok);
  };
  input.addEventListener("change", () => {
    add([...input.files]);
    input.value = "";
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => {
      event.preventDefault();
      drop.classList.add("over");
    });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    add([...event.dataTransfer.files]);
  });

  function row(file, problem) {
    const bar = h("progress", { max: 100, value: 0, "aria-label": `Upload progress of ${file.name}` });
    const info = h("span", { class: "info muted small" }, problem ? "" : bytes(file.size));
    const error = h("span", { class: "why error small" }, problem ?? "");
    const entry = { file, bar, info, error, sent: 0, ok: !problem, samples: [] };
    const remove = h("button", {
      type: "button", class: "link remove", "aria-label": `Remove ${file.name}`,
      onclick: () => {
        if (busy) return;
        entries.splice(entries.indexOf(entry), 1);
        entry.row.remove();
        start.disabled = !entries.some((e) => e.ok);
      },
    }, "Remove");
    entry.remove = remove;
    entry.row = h("li", { class: problem ? "refused" : "" },
      h("span", { class: "name" }, file.name), problem ? null : bar, info, error, remove);
    return entry;
  }

  function progress(entry, sent) {
    const now = performance.now();
    entry.sent = sent;
    entry.samples.push([now, sent]);
    while (entry.samples.length > 2 && now - entry.samples[0][0] > 3000) entry.samples.shift();
    const [t0, s0] = entry.samples[0];
    const rate = now > t0 ? ((sent - s0) * 1000) / (now - t0) : 0;
    entry.bar.value = Math.round((100 * sent) / Math.max(1, entry.file.size));
    const left = rate > 0 ? duration((entry.file.size - sent) / rate) : "";
    entry.info.textContent = `${bytes(sent)} of ${bytes(entry.file.size)}` +
      (rate > 0 && sent < entry.file.size ? ` · ${bytes(rate)}/s · ${left} left` : "");
    const ok = entries.filter((e) => e.ok);
    const size = ok.reduce((s, e) => s + e.file.size, 0);
    const done = ok.reduce((s, e) => s + e.sent, 0);
    total.value = Math.round((100 * done) / Math.max(1, size));
    totalText.textContent = `Total: ${bytes(done)} of ${bytes(size)}`;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const count = Number(variations.value);
    if (!Number.isInteger(count) || count < limits.variations.min || count > limits.variations.max) {
      message.textContent = `Variations must be a whole number from ${limits.variations.min} to ${limits.variations.max}.`;
      variations.focus();
      return;
    }
    const ok = entries.filter((e) => e.ok);
    if (!ok.length) return;
    busy = true;
    start.disabled = true;
    input.disabled = true;
    choose.disabled = true;
    total.hidden = false;
    for (const e of entries) e.remove.hidden = true;
    message.textContent = "";
    try {
      const job = (await tusOffered())
        ? await viaTus(ok, count, progress)
        : await viaMultipart(ok, count, progress);
      if (job) {
        announce("Job created");
        onCreated(job);
        reset();
        if (job.refused?.length) message.textContent = `Created without ${job.refused.join(" ")}`;
      }
    } catch (error) {
      message.textContent = errorText(error);
    } finally {
      busy = false;
      input.disabled = false;
      choose.disabled = false;
      start.disabled = !entries.some((e) => e.ok);
      for (const e of entries) e.remove.hidden = false;
    }
  });

  function reset() {
    entries.length = 0;
    fill(list);
    total.hidden = true;
    total.value = 0;
    totalText.textContent = "";
  }

  return { node: form, leave: () => {} };
}

/** "Up to 10 videos per job, each up to 500 MiB." from the limits the service reports. */
function limitText(limits) {
  const files = limits.max_files_per_job;
  return `Up to ${files} video${files === 1 ? "" : "s"} per job, each up to ${bytes(limits.max_upload_bytes)}.`;
}

/** Why the page will not upload `file` (in words), or null. */
function refuse(file, limits, accepted) {
  if (!VIDEO_NAME.test(file.name) && !VIDEO_TYPES.has(file.type)) return "Not an MP4 or MOV video.";
  if (!VIDEO_NAME.test(file.name) && file.type === "") return "Not an MP4 or MOV video.";
  if (file.size === 0) return "The file is empty.";
  if (file.size > limits.max_upload_bytes) return `Larger than ${bytes(limits.max_upload_bytes)}, the most one video may be.`;
  if (accepted >= limits.max_files_per_job) return `Only ${limits.max_files_per_job} videos fit in one job.`;
  return null;
}

let tusProbe = null;

/** Whether the service speaks tus at /api/uploads (asked once per page). */
function tusOffered() {
  tusProbe ??= fetch("/api/uploads", { method: "OPTIONS", credentials: "same-origin" })
    .then((r) => r.ok && r.headers.has("Tus-Version") && Boolean(window.tus?.isSupported))
    .catch(() => false);
  return tusProbe;
}

async function viaTus(entries, variations, progress) {
  const results = await Promise.allSettled(entries.map((entry) => tusUpload(entry, progress)));
  const ids = [];
  const refused = [];
  results.forEach((result, i) => {
    if (result.status === "fulfilled") {
      ids.push(result.value);
    } else {
      entries[i].error.textContent = result.reason.message;
      entries[i].ok = false;
      refused.push(`${entries[i].file.name}: ${result.reason.message}`);
    }
  });
  if (!ids.length) throw new ApiError(400, "no_files", refused.join(" "));
  const job = await api("/api/jobs", { method: "POST", json: { uploads: ids, variations } });
  job.refused = refused;
  return job;
}

function tusUpload(entry, progress) {
  return new Promise((resolve, reject) => {
    const upload = new window.tus.Upload(entry.file, {
      endpoint: "/api/uploads",
      chunkSize: CHUNK_BYTES,
      retryDelays: [0, 1000, 2000, 5000, 10000, 20000],
      metadata: { filename: entry.file.name, filetype: entry.file.type || "video/mp4" },
      storeFingerprintForResuming: true,
      removeFingerprintOnSuccess: true,
      onProgress: (sent) => progress(entry, sent),
      onShouldRetry: (error) => {
        const status = error.originalResponse?.getStatus?.() ?? 0;
        return status === 0 || status >= 500 || status === 409 || status === 423;
      },
      onSuccess: () => resolve(upload.url.split("/").pop()),
      onError: (error) => reject(new Error(tusReason(error))),
    });
    upload.findPreviousUploads().then((previous) => {
      if (previous.length) upload.resumeFromPreviousUpload(previous[0]);
      upload.start();
    }, () => upload.start());
  });
}

function tusReason(error) {
  const response = error.originalResponse;
  if (!response) return "The connection was lost. Pick the file again to resume.";
  let code = null;
  try {
    code = JSON.parse(response.getBody())?.error?.code;
  } catch {
    // not JSON
  }
  const reasons = {
    unsupported_media_type: "Not an MP4 or MOV video.",
    file_too_large: "Larger than the upload limit.",
    insufficient_storage: "The server is out of room for uploads right now.",
  };
  return reasons[code] ?? "The server refused this file.";
}

function viaMultipart(entries, variations, progress) {
  const form = new FormData();
  form.append("variations", String(variations));
  for (const entry of entries) form.append("videos", entry.file, entry.file.name);
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/jobs");
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", (event) => {
      let offset = 0;
      for (const entry of entries) {
        progress(entry, Math.min(entry.file.size, Math.max(0, event.loaded - offset)));
        offset += entry.file.size;
      }
    });
    xhr.addEventListener("load", () => {
      if (xhr.status === 202) return resolve(xhr.response);
      const error = xhr.response?.error;
      const named = entries.find((e) => error?.file && e.file.name === error.file);
      const apiError = new ApiError(xhr.status, error?.code ?? "upload", "");
      const words = tusReason({ originalResponse: { getBody: () => JSON.stringify(xhr.response) } });
      if (named) named.error.textContent = words;
      apiError.message = named ? `${named.file.name}: ${words}` : words;
      reject(apiError);
    });
    xhr.addEventListener("error", () => reject(new ApiError(0, "network", "The upload was interrupted. Please try again.")));
    xhr.send(form);
  });
}
