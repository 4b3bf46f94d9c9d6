import { describe, expect, test } from "bun:test";
import { imageName } from "../../cli/lib/image/reference";
import { NAME_SPACE, randomName } from "../../cli/lib/store/names";

describe("imageName: the reference grammar for names entering the store", () => {
  test.each([
    ["alpine", "docker.io/library/alpine:latest"],
    ["localhost:5000/a/b:v1", "localhost:5000/a/b:v1"],
    ["quay.io/x/y:Tag_1.0-rc", "quay.io/x/y:Tag_1.0-rc"],
    [`localhost/${"a".repeat(245)}:1`, `localhost/${"a".repeat(245)}:1`],
  ])("%s → %s", (text, name) => expect(imageName(text)).toBe(name));

  test.each([
    [":::", /^invalid image name ":::": bad tag ""$/],
    ["UPPER/Case:Tag", /^invalid image name "UPPER\/Case:Tag": repository names use lowercase/],
    ["Bad Name", /^invalid image name "Bad Name": /],
    ["a@sha256:" + "0".repeat(64), /a stored name has a tag, not a digest$/],
    [`localhost/${"a".repeat(246)}:1`, /names are at most 255 characters, tags 128$/],
    [`x:${"t".repeat(129)}`, /bad tag/],
    ["a".repeat(10_000), /^invalid image name "a{60}"… \(10000 characters\): names are at most 255/],
  ])("%s is refused", (text, why) => expect(() => imageName(text)).toThrow(why));
});

test("generated container names: ADJECTIVE_SURNAME from over 25,000", () => {
  expect(NAME_SPACE).toBeGreaterThan(25_000);
  const names = new Set(Array.from({ length: 200 }, randomName));
  for (const n of names) expect(n).toMatch(/^[a-z]+_[a-z]+$/);
  expect(names.size).toBeGreaterThan(190);
});
