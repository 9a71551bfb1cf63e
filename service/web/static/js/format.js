// Numbers and times in words a person reads at a glance.

/** Sizes in binary units, as the service's limits are set: 524288000 -> "500 MiB" (a
 * no-break space keeps the number and its unit on one line). */
export function bytes(n) {
  if (!Number.isFinite(n)) return "";
  const units = ["bytes", "KiB", "MiB", "GiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 10 || unit === 0 ? Math.round(value) : value.toFixed(1)}\u00a0${units[unit]}`;
}

export function duration(seconds) {
  if (!Number.isFinite(seconds) || seconds < 0) return "";
  if (seconds < 60) return `${Math.ceil(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

const REASONS = {
  retention: "results are kept for a limited time",
  storage_pressure: "removed early to free disk space",
  admin: "expired by an administrator",
};

/** "expires in 23 h", or "expired (why)". */
export function expiry(job, now = Date.now()) {
  if (job.status === "expired" || Date.parse(job.expires_at) <= now) {
    const reason = REASONS[job.expiry_reason] ?? REASONS.retention;
    return `expired (${reason})`;
  }
  return `expires in ${duration((Date.parse(job.expires_at) - now) / 1000)}`;
}

const STATUS = {
  received: "waiting",
  processing: "rendering",
  completed: "done",
  partial: "partly done",
  failed: "failed",
  cancelling: "cancelling",
  cancelled: "cancelled",
  expired: "expired",
};

export function status(value) {
  return STATUS[value] ?? value;
}

/** A variation's effect values as [name, value] pairs, for a person to read. */
export function effects(e) {
  const signed = (x, digits) => `${x > 0 ? "+" : x < 0 ? "−" : ""}${Math.abs(x).toFixed(digits)}`;
  return [
    ["Rotation", `${signed((e.rotation_rad * 180) / Math.PI, 2)}°`],
    ["Brightness", signed(e.brightness, 3)],
    ["Contrast", e.contrast.toFixed(3)],
    ["Saturation", e.saturation.toFixed(3)],
  ];
}
