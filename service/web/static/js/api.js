// The public HTTP API, as the page calls it: the session cookie authenticates, and every
// error becomes a sentence a person can act on.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

const PLAIN = {
  invalid_credentials: "That username and password do not match.",
  unauthorized: "Your session has ended. Please sign in again.",
  not_found: "This job does not exist, or it is not yours.",
  expired: "The results of this job have expired.",
  not_ready: "This job has no results yet.",
  no_outputs: "This job has no rendered variations to download.",
  unsupported_media_type: "Only MP4 and MOV videos can be uploaded.",
  file_too_large: "A file is larger than the upload limit.",
  too_many_files: "Too many files for one job.",
  insufficient_storage: "The server is out of room for uploads right now.",
  cross_origin: "This request was refused because it did not come from this page.",
  not_cancellable: "This job has already finished.",
  job_processing: "This job is still being processed; it can be expired once it has finished.",
};

function sentence(status, code, retryAfter) {
  if (code === "too_many_attempts") {
    const minutes = Math.max(1, Math.ceil(Number(retryAfter || 60) / 60));
    return `Too many failed sign-ins. Please wait ${minutes} minute${minutes > 1 ? "s" : ""} and try again.`;
  }
  if (PLAIN[code]) return PLAIN[code];
  if (status >= 500) return "Something went wrong on the server. Please try again.";
  return "The request could not be completed.";
}

/** Call the API; resolves to the JSON body (or null), rejects with an ApiError. */
export async function api(path, { method = "GET", json } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json" } };
  if (json !== undefined) {
    init.body = JSON.stringify(json);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, "network", "The service cannot be reached. Check your connection.");
  }
  if (response.status === 204) return null;
  const body = await response.json().catch(() => null);
  if (!response.ok) {
    const code = body?.error?.code ?? `http_${response.status}`;
    const error = new ApiError(response.status, code, sentence(response.status, code, response.headers.get("Retry-After")));
    error.detail = body?.error?.message;
    throw error;
  }
  return body;
}

export function errorText(error) {
  return error instanceof ApiError ? error.message : "Something went wrong. Please try again.";
}
