import { expect, test } from "bun:test";
import { DEFAULT_DETACH_KEYS, detachScanner, parseDetachKeys } from "../../cli/lib/runtime/detach-keys";
import { parseAttachStreams } from "../../cli/lib/runtime/attach-streams";

test("detach keys as docker spells them", () => {
  expect(parseDetachKeys(DEFAULT_DETACH_KEYS)).toEqual([16, 17]);
  expect(parseDetachKeys("ctrl-a,d")).toEqual([1, 100]);
  expect(parseDetachKeys("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_,CTRL-Z")).toEqual([0, 27, 28, 29, 30, 31, 26]);
  expect(parseDetachKeys("")).toEqual([]);
  for (const bad of ["ctrl-1", "ctrl-", "ab", "ctrl-p,", ",x", "shift-a"]) expect(() => parseDetachKeys(bad)).toThrow(/invalid detach keys/);
});

test("the scanner holds a partial sequence back, passes it on when it breaks, detaches when it completes", () => {
  const feed = (keys: number[], ...chunks: number[][]) => {
    const scan = detachScanner(keys);
    return chunks.map((c) => {
      const r = scan(Uint8Array.from(c));
      return [Array.from(r.pass), r.detach];
    });
  };
  expect(feed([16, 17], [65, 16, 17, 66])).toEqual([[[65], true]]);
  // Split across reads.
  expect(feed([16, 17], [65, 16], [17])).toEqual([[[65], false], [[], true]]);
  // Broken: the held key goes on, as typed.
  expect(feed([16, 17], [16, 66], [16], [16, 17])).toEqual([[[16, 66], false], [[], false], [[16], true]]);
  // None: everything passes.
  expect(feed([], [16, 17])).toEqual([[[16, 17], false]]);
  expect(feed([1, 100, 120], [1, 100, 1, 100, 120])).toEqual([[[1, 100], true]]);
  // A sequence that overlaps itself: its tail that starts it again is held, not sent.
  expect(feed([16, 16, 17], [16, 16, 16, 17])).toEqual([[[16], true]]);
  expect(feed([16, 16, 17], [16, 16], [16], [65])).toEqual([[[], false], [[16], false], [[16, 16, 65], false]]);
  expect(feed([1, 2, 1, 3], [1, 2, 1, 2, 1, 3])).toEqual([[[1, 2], true]]);
});

test("run -a streams", () => {
  expect(parseAttachStreams([])).toBeUndefined();
  expect(parseAttachStreams(["stdout"])).toEqual({ stdin: false, stdout: true, stderr: false });
  expect(parseAttachStreams(["STDIN", "stderr"])).toEqual({ stdin: true, stdout: false, stderr: true });
  expect(parseAttachStreams(["stdin,stdout"])).toEqual({ stdin: true, stdout: true, stderr: false });
  expect(() => parseAttachStreams(["stdio"])).toThrow('invalid -a "stdio"');
});
