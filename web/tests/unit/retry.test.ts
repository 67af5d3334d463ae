import { describe, expect, test } from "vitest";
import { ApiError } from "../../src/api/errors";
import { withRetry } from "../../src/api/retry";

const busy = (retryAfter: string | null) =>
  new ApiError(503, { success: false, code: "SERVICE_UNAVAILABLE", message: "busy" }, retryAfter);

function recorder() {
  const waits: number[] = [];
  return { waits, sleep: async (ms: number) => void waits.push(ms) };
}

describe("withRetry", () => {
  test("waits as long as Retry-After says, then succeeds", async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const result = await withRetry(
      async () => {
        calls++;
        if (calls < 3) throw busy(calls === 1 ? "2" : null);
        return "booked";
      },
      { attempts: 5, fallbackDelayMs: 700, maxDelayMs: 5000, sleep },
    );
    expect(result).toBe("booked");
    expect(calls).toBe(3);
    expect(waits).toEqual([2000, 700]);
  });

  test("is bounded: the last failure is thrown after the allowed attempts", async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const failing = withRetry(
      async () => {
        calls++;
        throw busy("1");
      },
      { attempts: 3, fallbackDelayMs: 1000, maxDelayMs: 5000, sleep },
    );
    await expect(failing).rejects.toBeInstanceOf(ApiError);
    expect(calls).toBe(3);
    expect(waits).toEqual([1000, 1000]);
  });

  test("never waits longer than the cap, whatever the server asks", async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    await withRetry(
      async () => {
        if (++calls === 1) throw busy("3600");
        return 1;
      },
      { attempts: 2, fallbackDelayMs: 1000, maxDelayMs: 5000, sleep },
    );
    expect(waits).toEqual([5000]);
  });

  test("a definitive refusal is not repeated", async () => {
    const { waits, sleep } = recorder();
    let calls = 0;
    const refused = withRetry(
      async () => {
        calls++;
        throw new ApiError(
          409,
          { success: false, code: "INSUFFICIENT_TICKETS", message: "Not enough tickets left" },
          null,
        );
      },
      { attempts: 5, fallbackDelayMs: 1000, maxDelayMs: 5000, sleep },
    );
    await expect(refused).rejects.toMatchObject({ code: "INSUFFICIENT_TICKETS" });
    expect(calls).toBe(1);
    expect(waits).toEqual([]);
  });
});
