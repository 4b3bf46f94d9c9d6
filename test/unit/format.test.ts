import { describe, expect, test } from "bun:test";
import { ago, upFor } from "../../cli/lib/format";

describe("ago: podman's words for how long ago", () => {
  const S = 1000;
  const H = 3600 * S;
  const D = 24 * H;
  test.each([
    [0, "Less than a second ago"],
    [999, "Less than a second ago"],
    [1 * S, "1 second ago"],
    [2 * S, "2 seconds ago"],
    [59 * S, "59 seconds ago"],
    [60 * S, "About a minute ago"],
    [119 * S, "About a minute ago"],
    [120 * S, "2 minutes ago"],
    [59 * 60 * S, "59 minutes ago"],
    [H, "About an hour ago"],
    [2 * H, "2 hours ago"],
    [47 * H, "47 hours ago"],
    [2 * D, "2 days ago"],
    [13 * D, "13 days ago"],
    [14 * D, "2 weeks ago"],
    [59 * D, "8 weeks ago"],
    [60 * D, "2 months ago"],
    [729 * D, "24 months ago"],
    [730 * D, "2 years ago"],
  ])("%p ms", (elapsed, want) => {
    // The clock moves between the two calls; a reference time well inside the step keeps the case exact.
    expect(ago(Date.now() - elapsed - (elapsed < S ? 0 : 100))).toBe(want);
  });
  test("a time in the future is 'Less than a second ago', not negative", () => expect(ago(Date.now() + 5000)).toBe("Less than a second ago"));
});

test("a running container's status: Up and how long", () => {
  expect(upFor(Date.now())).toBe("Up Less than a second");
  expect(upFor(Date.now() - 90_000)).toBe("Up About a minute");
  expect(upFor(Date.now() - 3 * 3600_000 - 100)).toBe("Up 3 hours");
});
