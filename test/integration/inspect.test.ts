import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readlinkSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ALPINE, makeEnv, rl, RL_BIN, skipReason } from "./harness";

const reason = skipReason();
if (reason) console.log(`skipping rl inspect integration tests: ${reason}`);

describe.skipIf(Boolean(reason))("rl inspect", () => {
  const t = makeEnv();
  afterAll(() => t.cleanup());

  test("a running container: podman's fields, its pid, namespaces and cgroup as the host sees them", async () => {
    const data = join(t.root, "data");
    mkdirSync(data, { recursive: true });
    const p = Bun.spawn([RL_BIN, "run", "--rm", "--name", "insp", "--network", "none", "-v", `${data}:/data:ro`, "-e", "GREETING=hi", "-w", "/data", ALPINE, "sh", "-c", "echo ready; exec sleep 600"], { env: t.env, stdout: "pipe", stderr: "pipe" });
    try {
      const reader = p.stdout.getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe("ready\n");
      const one = async (template: string) => {
        const r = await rl(["inspect", "-f", template, "insp"], { env: t.env });
        expect({ template, code: r.code, stderr: r.stderr }).toEqual({ template, code: 0, stderr: "" });
        return r.stdout.trimEnd();
      };
      const pid = Number(await one("{{.State.Pid}}"));
      // The pid is the container's first process: `sleep 600`, as the host sees it.
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8")).toBe("sleep\0" + "600\0");
      expect(await one("{{.State.Status}} {{.State.Running}} {{.Name}} {{.Path}} {{json .Args}}")).toBe(`running true insp sh ["-c","echo ready; exec sleep 600"]`);
      expect(await one("{{.Namespaces.net}} {{.Namespaces.user}}")).toBe(`${readlinkSync(`/proc/${pid}/ns/net`)} ${readlinkSync(`/proc/${pid}/ns/user`)}`);
      expect(await one("{{.Cgroup}}")).toBe(readFileSync(`/proc/${pid}/cgroup`, "utf8").trim());
      expect(await one("{{range .Mounts}}{{.Source}}:{{.Destination}}:{{.RW}}{{end}}")).toBe(`${data}:/data:false`);
      expect(await one('{{index .Config.Env 0}} {{range .Config.Env}}{{if eq . "GREETING=hi"}}found{{end}}{{end}} {{.Config.WorkingDir}}')).toMatch(/^PATH=\S+ found \/data$/);
      expect(await one("{{.HostConfig.NetworkMode}} {{.HostConfig.AutoRemove}} {{.GraphDriver.Name}}")).toMatch(/^none true (overlay|fuse-overlayfs|vfs)$/);
      expect((await rl(["ps", "--format", "{{.Names}} {{.Status}}"], { env: t.env })).stdout).toMatch(/^insp Up (Less than a second|\d+ seconds?|About a minute)\n$/);
      const [full] = JSON.parse((await rl(["inspect", "insp"], { env: t.env })).stdout);
      expect(full).toMatchObject({ Name: "insp", ImageName: expect.stringContaining("alpine"), State: { Status: "running", Pid: pid } });
      expect(full.EffectiveCaps).toContain("CAP_CHOWN");
    } finally {
      p.kill("SIGKILL");
      await p.exited;
    }
  });

  test("an exited container, an image by name, the type asked for, and what is not there", async () => {
    expect((await rl(["run", "--name", "gone", "--network", "none", ALPINE, "sh", "-c", "exit 7"], { env: t.env })).code).toBe(7);
    const r = await rl(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}} {{.State.Pid}} {{.State.Running}}", "gone"], { env: t.env });
    expect(r).toEqual({ code: 0, stdout: "exited 7 0 false\n", stderr: "" });
    const stored = JSON.parse((await rl(["images", "--format", "json"], { env: t.env })).stdout)[0].Id as string;
    expect(await rl(["inspect", "--type", "image", "-f", "{{json .Config.Cmd}} {{.Os}}", stored], { env: t.env })).toEqual({ code: 0, stdout: '["/bin/sh"] linux\n', stderr: "" });
    expect(await rl(["image", "inspect", "-f", "{{.Architecture}}", stored], { env: t.env })).toEqual({ code: 0, stdout: "amd64\n", stderr: "" });
    expect(await rl(["inspect", "--type", "image", "gone"], { env: t.env })).toMatchObject({ code: 125, stderr: "rl: no such image: gone\n" });
    expect(await rl(["inspect", "nosuch"], { env: t.env })).toMatchObject({ code: 125, stdout: "", stderr: "rl: no such container or image: nosuch\n" });
    expect(await rl(["inspect", "-f", "{{.State.Nope}}", "gone"], { env: t.env })).toMatchObject({ code: 125, stderr: expect.stringMatching(/^rl: cannot format the output with "\{\{\.State\.Nope\}\}": at 1:3: can't evaluate field Nope \(in \.State\.Nope\): the fields are OciVersion, Status, /) });
    expect((await rl(["rm", "gone"], { env: t.env })).code).toBe(0);
  });
});
