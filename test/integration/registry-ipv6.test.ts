import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ALPINE, makeEnv, rl, skipReason } from "./harness";
import { startRegistry, type Registry } from "./registry-harness";

const reason = skipReason();
if (reason) console.log(`skipping IPv6 registry tests: ${reason}`);

// Debian's skopeo cannot parse IPv6 literals, so rl fills the registry itself: push from one store, pull
// into another.
describe.skipIf(Boolean(reason))("a registry on an IPv6 literal ([::1]:PORT)", () => {
  const a = makeEnv(), b = makeEnv();
  let reg: Registry;

  beforeAll(async () => {
    reg = await startRegistry({ ipv6: true });
  });
  afterAll(async () => {
    await reg?.stop();
    await a.cleanup();
    await b.cleanup();
  });

  test("push to, pull from and run by [::1]:PORT names", async () => {
    const stored = await rl(["run", "--rm", "--network", "none", ALPINE, "true"], { env: a.env });
    expect(stored.code).toBe(0);
    const id = JSON.parse((await rl(["images", "--format", "json"], { env: a.env })).stdout)[0].Id as string;
    const push = await rl(["push", "-q", "--tls-verify=false", id, `${reg.host}/alpine:3.20`], { env: a.env });
    expect({ code: push.code, stderr: push.stderr }).toEqual({ code: 0, stderr: "" });

    const pull = await rl(["pull", "-q", "--tls-verify=false", `${reg.host}/alpine:3.20`], { env: b.env });
    expect({ code: pull.code, stderr: pull.stderr }).toEqual({ code: 0, stderr: "" });
    const run = await rl(["run", "--rm", "--network", "none", `${reg.host}/alpine:3.20`, "cat", "/etc/alpine-release"], { env: b.env });
    expect(run).toMatchObject({ code: 0, stdout: "3.20.3\n" });
    const images = JSON.parse((await rl(["images", "--format", "json"], { env: b.env })).stdout);
    expect(images[0].Id).toBe(id);
    expect(JSON.stringify(images[0])).toContain(`${reg.host}/alpine`);
  });
});
