import { describe, expect, test } from "vitest";
import { AttemptStore } from "../../src/booking/attempts";

function memoryStorage() {
  const map = new Map<string, string>();
  return {
    map,
    getItem: (k: string) => map.get(k) ?? null,
    setItem: (k: string, v: string) => void map.set(k, v),
    removeItem: (k: string) => void map.delete(k),
  };
}

function keys() {
  let n = 0;
  return () => `key-${++n}`;
}

describe("AttemptStore", () => {
  test("a pending attempt is reused, whatever quantity is asked next", () => {
    const store = new AttemptStore(memoryStorage(), keys());
    const first = store.begin("ev1", 2);
    expect(first).toEqual({ key: "key-1", quantity: 2 });
    expect(store.begin("ev1", 5)).toEqual(first);
    expect(store.pending("ev1")).toEqual(first);
  });

  test("a definitive answer frees the event for a new attempt with a new key", () => {
    const store = new AttemptStore(memoryStorage(), keys());
    store.begin("ev1", 2);
    store.finish("ev1");
    expect(store.pending("ev1")).toBeNull();
    expect(store.begin("ev1", 3)).toEqual({ key: "key-2", quantity: 3 });
  });

  test("attempts of different events do not share keys", () => {
    const store = new AttemptStore(memoryStorage(), keys());
    expect(store.begin("ev1", 1).key).not.toBe(store.begin("ev2", 1).key);
  });

  test("survives a reload: a new store on the same storage finds the attempt", () => {
    const storage = memoryStorage();
    const before = new AttemptStore(storage, keys()).begin("ev1", 4);
    expect(new AttemptStore(storage, keys()).pending("ev1")).toEqual(before);
  });

  test.each([
    "not json",
    JSON.stringify({ key: "", quantity: 1 }),
    JSON.stringify({ key: "k", quantity: 0 }),
    JSON.stringify({ key: "k", quantity: 11 }),
    JSON.stringify({ key: "k", quantity: 1.5 }),
    JSON.stringify({ quantity: 1 }),
    "null",
  ])("an unreadable entry (%s) counts as no attempt and is replaced", (raw) => {
    const storage = memoryStorage();
    storage.map.set("ticketing.booking-attempt.ev1", raw);
    const store = new AttemptStore(storage, keys());
    expect(store.pending("ev1")).toBeNull();
    expect(store.begin("ev1", 2)).toEqual({ key: "key-1", quantity: 2 });
  });
});
