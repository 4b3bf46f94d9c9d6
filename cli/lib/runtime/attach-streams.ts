import { RlError } from "../errors";

/** Which of a container's streams `run -a` attaches (the others: stdin closed, output discarded). */
export interface AttachStreams {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
}

/** `-a stdin -a stdout` (or `-a stdin,stdout`) as docker takes it; undefined without -a (all of them). */
export function parseAttachStreams(values: readonly string[]): AttachStreams | undefined {
  if (!values.length) return undefined;
  const streams = { stdin: false, stdout: false, stderr: false };
  for (const name of values.flatMap((v) => v.split(","))) {
    const key = name.trim().toLowerCase();
    if (key !== "stdin" && key !== "stdout" && key !== "stderr") throw new RlError(`invalid -a ${JSON.stringify(name)}: use stdin, stdout or stderr`);
    streams[key] = true;
  }
  return streams;
}
