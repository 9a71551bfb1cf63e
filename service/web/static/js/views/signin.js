// Sign in with username and password; the service answers with an HttpOnly session cookie.

import { api, errorText } from "../api.js";
import { h, fill } from "../dom.js";

export function render(main, { onSignedIn }) {
  document.title = "Sign in · Video Refresher";
  const message = h("p", { class: "error", role: "alert", id: "signin-error" });
  const username = h("input", { id: "username", name: "username", autocomplete: "username", required: true });
  const password = h("input", {
    id: "password", name: "password", type: "password", autocomplete: "current-password", required: true,
  });
  const button = h("button", { type: "submit" }, "Sign in");
  const form = h(
    "form",
    { class: "card signin", "aria-describedby": "signin-error" },
    h("div", { class: "field" }, h("label", { for: "username" }, "Username"), username),
    h("div", { class: "field" }, h("label", { for: "password" }, "Password"), password),
    message,
    button,
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    message.textContent = "";
    button.disabled = true;
    try {
      await api("/api/auth/login", {
        method: "POST",
        json: { username: username.value, password: password.value, cookie: true },
      });
      password.value = "";
      await onSignedIn();
    } catch (error) {
      message.textContent = errorText(error);
      button.disabled = false;
      password.select();
    }
  });
  fill(
    main,
    h("h1", { tabindex: "-1" }, "Sign in"),
    h("p", { class: "muted" }, "Upload videos, get refreshed variations back as one ZIP."),
    form,
  );
  username.focus();
  return null;
}
