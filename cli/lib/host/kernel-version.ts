/** Whether a release string like "6.1.0-18-amd64" is at least major.minor; null if unparsable. */
export function kernelAtLeast(release: string, major: number, minor: number): boolean | null {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return null;
  const [a, b] = [Number(m[1]), Number(m[2])];
  return a > major || (a === major && b >= minor);
}
