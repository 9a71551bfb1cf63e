// One job: its sources, every variation as a thumbnail with its effect values; a click
// plays it here (seekable: the service answers byte ranges), and each can be downloaded.

import { api, errorText } from "../api.js";
import { fill, h } from "../dom.js";
import { effects, expiry } from "../format.js";
import { ACTIVE, jobCard, updateCard } from "../jobcard.js";
import * as live from "../live.js";

export function render(main, { me, jobId }) {
  document.title = "Job · Video Refresher";
  const heading = h("h1", { tabindex: "-1" }, "Job");
  const summary = h("ul", { class: "jobs" });
  const player = h("section", { class: "player card", "aria-label": "Player", hidden: true });
  const grid = h("div", { class: "variations" });
  const message = h("p", { class: "error", role: "alert" });
  let job = null;
  let card = null;
  let liveFraction;
  let closed = false;
  const options = { owner: me.is_admin, expire: me.is_admin, heading: false };

  fill(
    main,
    h("p", {}, h("a", { href: "#/" }, "← All your jobs")),
    heading,
    message,
    summary,
    player,
    h("section", { "aria-labelledby": "variations-heading" },
      h("h2", { id: "variations-heading" }, "Variations"), grid),
  );

  async function load() {
    try {
      job = await api(`/api/jobs/${jobId}`);
    } catch (error) {
      message.textContent = errorText(error);
      return;
    }
    if (closed) return;
    const names = job.sources.map((s) => s.name).join(", ");
    heading.textContent = names;
    document.title = `${names} · Video Refresher`;
    if (!card) {
      card = jobCard(job, options);
      summary.append(card);
    } else {
      updateCard(card, job, options, ACTIVE.has(job.status) ? liveFraction : undefined);
    }
    showVariations();
  }

  function showVariations() {
    const available = job.status !== "expired" && Date.parse(job.expires_at) > Date.now();
    const groups = job.sources.map((source) => {
      const outputs = job.outputs.filter((o) => o.file_id === source.id);
      return h("div", { class: "group" },
        h("h3", {}, source.name),
        outputs.length
          ? h("ul", { class: "grid" }, outputs.map((o) => variation(source, o, available)))
          : h("p", { class: "muted" }, source.error ? "No variations: this file failed." : "No variations yet."));
    });
    fill(grid, available || !job.outputs.length ? null : h("p", { class: "muted" }, `Results ${expiry(job)}.`), groups);
  }

  function variation(source, output, available) {
    const label = `${source.name}, variation ${output.variation_index}`;
    return h("li", { class: "variation" },
      h("button", {
        type: "button", class: "thumb-button", disabled: !available,
        "aria-label": `Play ${label}`,
        onclick: () => play(source, output, label),
      },
      output.thumbnail
        ? h("img", { src: output.thumbnail, alt: "", width: 160, height: 90, loading: "lazy" })
        : h("span", { class: "thumb-empty", "aria-hidden": "true" }, "▶"),
      h("span", { class: "index" }, `▶ Variation ${output.variation_index}`)),
      effectList(output),
      available ? h("a", { href: output.download, download: "", class: "small", "aria-label": `Download ${label}` }, "Download") : null);
  }

  function play(source, output, label) {
    const video = h("video", {
      src: output.download, controls: true, autoplay: true, playsinline: true, preload: "metadata",
      "aria-label": label,
    });
    fill(player,
      h("div", { class: "section-head" },
        h("h2", {}, label),
        h("button", { type: "button", class: "secondary", onclick: () => { fill(player); player.hidden = true; } }, "Close")),
      video,
      effectList(output));
    player.hidden = false;
    player.scrollIntoView({ block: "nearest" });
    video.focus();
  }

  const unsubscribe = live.subscribe(({ type, jobId: id, data }) => {
    if (type === "resync") {
      load();
      return;
    }
    if (id !== jobId || !job) return;
    if (type === "progress") {
      liveFraction = Number(data.percent) / 100;
      if (card && ACTIVE.has(job.status)) updateCard(card, job, options, liveFraction);
      return;
    }
    if (type !== "snapshot") load();
  });

  load();
  return () => {
    closed = true;
    unsubscribe();
  };
}

/** The effect values that make this variation unique, as a small two-column list. */
function effectList(output) {
  return h("dl", { class: "effects small" },
    effects(output.effects).map(([name, value]) => [h("dt", {}, name), h("dd", {}, value)]));
}
