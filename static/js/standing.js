// Where a queued run stands, as the `queued` event (or a queued state snapshot) says:
// "3rd in line · about 40 s", "Next in line", and a note when a lost worker sent it back.
function ordinal(n) {
  const tens = n % 100;
  const suffix = tens >= 11 && tens <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" }[n % 10] || "th");
  return `${n}${suffix}`;
}

function duration(seconds) {
  if (seconds < 90) return `${Math.max(1, Math.round(seconds))} s`;
  return `${Math.round(seconds / 60)} min`;
}

export function standingText({ position, eta_seconds: eta, attempts }) {
  if (!position) return "Queued…";
  const place = position === 1 ? "Next in line" : `${ordinal(position)} in line`;
  const estimate = eta == null ? "" : ` · about ${duration(eta)}`;
  const retry = attempts ? ` · retrying (a worker stopped during attempt ${attempts})` : "";
  return place + estimate + retry;
}
