/**
 * A short, human description of a User-Agent header ("Chrome on Linux"), for
 * the session lists. Deliberately small: it only has to tell a person's own
 * devices apart, not identify every browser build. Order matters: most
 * browsers also claim to be the ones they descend from (Edge says "Chrome",
 * Chrome says "Safari"), so the more specific names are tried first.
 */

const browsers: [RegExp, string][] = [
  [/\bEdg(?:e|A|iOS)?\//, "Edge"],
  [/\b(?:OPR|Opera)\//, "Opera"],
  [/\bSamsungBrowser\//, "Samsung Internet"],
  [/\bVivaldi\//, "Vivaldi"],
  [/\b(?:Firefox|FxiOS)\//, "Firefox"],
  [/\b(?:Chrome|CriOS|HeadlessChrome|Chromium)\//, "Chrome"],
  [/\bVersion\/[\d.]+.*\bSafari\//, "Safari"],
  [/\bcurl\//, "curl"],
  [/\bWget\//, "Wget"],
  [/\bPostmanRuntime\//, "Postman"],
  [/^node\b|\bnode-fetch\b|\bundici\b/i, "Node.js"],
  [/\bPython-urllib\/|\bpython-requests\//, "Python"],
  [/\bokhttp\//, "OkHttp"],
];

const systems: [RegExp, string][] = [
  [/\b(?:iPhone|iPad|iPod)\b/, "iOS"],
  [/\bAndroid\b/, "Android"],
  [/\bCrOS\b/, "ChromeOS"],
  [/\bWindows\b/, "Windows"],
  [/\b(?:Macintosh|Mac OS X)\b/, "macOS"],
  [/\bLinux\b|\bX11\b/, "Linux"],
];

export const UNKNOWN_DEVICE = "Unknown device";

function firstMatch(table: [RegExp, string][], text: string): string | null {
  for (const [pattern, name] of table) if (pattern.test(text)) return name;
  return null;
}

export interface DeviceDescription {
  browser: string | null;
  os: string | null;
  /** "Chrome on Linux", "Firefox", "Linux" or "Unknown device". */
  label: string;
}

export function describeUserAgent(userAgent: string | null | undefined): DeviceDescription {
  // Headers are capped at 512 characters on the way in; cap again so the regexes never see more.
  const text = (userAgent ?? "").slice(0, 512);
  const browser = text ? firstMatch(browsers, text) : null;
  const os = text ? firstMatch(systems, text) : null;
  const label = browser && os ? `${browser} on ${os}` : (browser ?? os ?? UNKNOWN_DEVICE);
  return { browser, os, label };
}

/** Just the label. */
export function deviceLabel(userAgent: string | null | undefined): string {
  return describeUserAgent(userAgent).label;
}
