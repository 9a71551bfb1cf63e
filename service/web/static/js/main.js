// The page's entry point: who is signed in, the navigation, and which view the URL's
// fragment names (#/, #/jobs/<id>, #/admin). Each view is its own module.

import { api } from "./api.js";
import { fill, h } from "./dom.js";
import * as live from "./live.js";
import * as adminView from "./views/admin.js";
import * as jobView from "./views/job.js";
import * as jobsView from "./views/jobs.js";
import * as signinView from "./views/signin.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
let me = null;
let leave = null; // the current view's clean-up

async function start() {
  try {
    me = await api("/api/me");
  } catch {
    me = null;
  }
  window.addEventListener("hashchange", () => route(true));
  window.addEventListener("vr:signed-out", () => signedOut());
  route(false);
}

function route(moved) {
  leave?.();
  leave = null;
  showNav();
  const context = { me, main };
  if (!me) {
    live.stop();
    leave = signinView.render(main, { onSignedIn: signedIn });
  } else {
    live.start();
    const hash = location.hash || "#/";
    const job = hash.match(/^#\/jobs\/([0-9a-fA-F-]{36})$/);
    if (job) leave = jobView.render(main, { ...context, jobId: job[1] });
    else if (hash === "#/admin" && me.is_admin) leave = adminView.render(main, context);
    else leave = jobsView.render(main, context);
  }
  if (moved) main.querySelector("h1")?.focus();
}

function showNav() {
  if (!me) {
    fill(nav);
    return;
  }
  const here = location.hash || "#/";
  const link = (href, text) => h("a", { href, "aria-current": here === href ? "page" : null }, text);
  fill(
    nav,
    link("#/", "Jobs"),
    me.is_admin ? link("#/admin", "All jobs") : null,
    h("span", { class: "who" }, `Signed in as ${me.username}`),
    h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
}

async function signedIn() {
  me = await api("/api/me");
  if (location.hash && location.hash !== "#/") route(true);
  else {
    route(true);
  }
}

async function signOut() {
  try {
    await api("/api/auth/logout", { method: "POST" });
  } catch {
    // signed out either way: the cookie is gone or the session had ended
  }
  signedOut();
}

function signedOut() {
  me = null;
  live.stop();
  document.title = "Video Refresher";
  route(true);
}

start();
