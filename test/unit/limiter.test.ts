import { describe, expect, test } from "bun:test";
import { limiter } from "../../cli/lib/limiter";

describe("limiter", () => {
  test("never more than n at once, also when calls arrive while slots are handed over; first come first served", async () => {
    const slot = limiter(2);
    let running = 0;
    let most = 0;
    const started: number[] = [];
    const job = (i: number, ms: number) =>
      slot(async () => {
        started.push(i);
        most = Math.max(most, ++running);
        await Bun.sleep(ms);
        running--;
        return i;
      });
    const first = [job(0, 20), job(1, 5), job(2, 5), job(3, 5)];
    await Bun.sleep(7); // job 1 has ended and handed its slot to job 2
    const late = job(4, 1);
    expect(await Promise.all([...first, late])).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  test("a failing call frees its slot", async () => {
    const slot = limiter(1);
    await expect(slot(async () => { throw new Error("no"); })).rejects.toThrow("no");
    expect(await slot(async () => 7)).toBe(7);
  });
});

test("limiter: of the waiting calls, the highest priority goes first", async () => {
  const slot = limiter(1);
  const order: string[] = [];
  const job = (name: string, priority: number) => slot(async () => { order.push(name); await Bun.sleep(2); }, priority);
  await Promise.all([job("first", 0), job("small", 1), job("big", 100), job("medium", 50), job("medium-later", 50)]);
  expect(order).toEqual(["first", "big", "medium", "medium-later", "small"]);
});
