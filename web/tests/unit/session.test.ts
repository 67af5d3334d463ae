import { afterEach, describe, expect, test, vi } from "vitest";
import { api, unwrap } from "../../src/api/client";
import { singleFlight } from "../../src/session/singleFlight";
import { accessTokenNow, currentSession, onUserChange, signIn, signOut } from "../../src/session/store";

const user = {
  id: "u1",
  email: "a@example.com",
  name: "Ada",
  role: "user" as const,
  emailVerified: false,
  createdAt: "2026-01-01T00:00:00Z",
};

function json(status: number, body: unknown) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  signOut();
});

describe("singleFlight", () => {
  test("calls made while one runs share it; the next call runs anew", async () => {
    let runs = 0;
    let release: (v: number) => void = () => {};
    const shared = singleFlight(() => {
      runs++;
      return new Promise<number>((resolve) => {
        release = resolve;
      });
    });
    const all = Promise.all([shared(), shared(), shared()]);
    release(7);
    expect(await all).toEqual([7, 7, 7]);
    expect(runs).toBe(1);
    const next = shared();
    release(8);
    expect(await next).toBe(8);
    expect(runs).toBe(2);
  });
});

describe("the API client's refresh on 401", () => {
  test("three requests meeting a 401 share one refresh, then each is sent again once", async () => {
    signIn("expired", user);
    let refreshes = 0;
    const seen: string[] = [];
    vi.stubGlobal("fetch", async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/refresh") {
        refreshes++;
        expect(request.headers.get("Authorization")).toBeNull();
        await new Promise((r) => setTimeout(r, 20));
        return json(200, {
          success: true,
          message: "ok",
          data: { user, accessToken: "fresh", refreshToken: "r", expiresIn: 900 },
        });
      }
      const auth = request.headers.get("Authorization") ?? "";
      seen.push(auth);
      if (auth !== "Bearer fresh") return json(401, { success: false, code: "UNAUTHORIZED", message: "expired" });
      return json(200, { success: true, message: "ok", data: { user } });
    });
    const replies = await Promise.all([1, 2, 3].map(() => unwrap(api.GET("/api/v1/auth/me"))));
    expect(replies.map((r) => r.data?.user?.name)).toEqual(["Ada", "Ada", "Ada"]);
    expect(refreshes).toBe(1);
    expect(accessTokenNow()).toBe("fresh");
    expect(seen.filter((a) => a === "Bearer expired")).toHaveLength(3);
    expect(seen.filter((a) => a === "Bearer fresh")).toHaveLength(3);
  });

  test("a refused refresh signs out and the 401 reaches the caller", async () => {
    signIn("expired", user);
    vi.stubGlobal("fetch", async (request: Request) => {
      const path = new URL(request.url).pathname;
      if (path === "/api/v1/auth/refresh") return json(401, { success: false, code: "UNAUTHORIZED", message: "no" });
      return json(401, { success: false, code: "UNAUTHORIZED", message: "Authentication required" });
    });
    await expect(unwrap(api.GET("/api/v1/auth/me"))).rejects.toMatchObject({ status: 401 });
    expect(currentSession()).toEqual({ status: "anonymous" });
    expect(accessTokenNow()).toBeNull();
  });

  test("a network failure is a NetworkError, and the session is kept", async () => {
    signIn("token", user);
    vi.stubGlobal("fetch", async () => {
      throw new TypeError("Failed to fetch");
    });
    await expect(unwrap(api.GET("/api/v1/auth/me"))).rejects.toMatchObject({ name: "NetworkError" });
    expect(accessTokenNow()).toBe("token");
  });
});

describe("onUserChange", () => {
  test("fires when a signed-in user leaves or another signs in, not on a refresh", () => {
    let changes = 0;
    const stop = onUserChange(() => changes++);
    signIn("t1", user);
    expect(changes).toBe(0);
    signIn("t2", user); // a refresh: same user, new token
    expect(changes).toBe(0);
    signIn("t3", { ...user, id: "u2" }); // another user
    expect(changes).toBe(1);
    signOut(); // the button, or a 401
    expect(changes).toBe(2);
    signOut();
    expect(changes).toBe(2);
    stop();
    signIn("t4", user);
    signOut();
    expect(changes).toBe(2);
  });
});
