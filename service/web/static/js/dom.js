// Building the page: every string becomes a text node, never HTML.

/** h("a", {href: "#/"}, "Jobs") -> <a href="#/">Jobs</a>. Strings are inserted as text. */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      node.className = value;
    } else if (key === "value" || key === "checked" || key === "disabled") {
      node[key] = value;
    } else {
      node.setAttribute(key, value === true ? "" : String(value));
    }
  }
  put(node, children);
  return node;
}

function put(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
}

/** Replace everything inside `node` with `children`. */
export function fill(node, ...children) {
  node.replaceChildren();
  put(node, children);
  return node;
}

/** Tell screen-reader users about a change they did not cause by focus. */
export function announce(text) {
  const region = document.getElementById("announce");
  if (region) region.textContent = text;
}
