// The signed-in user and the access token, held in memory only (never in Web Storage or a
// readable cookie); the refresh token lives in the API's httpOnly cookie.
import { useSyncExternalStore } from "react";
import type { components } from "../api/schema";

export type User = components["schemas"]["User"];

export type Session = { status: "starting" } | { status: "anonymous" } | { status: "signedIn"; user: User };

let session: Session = { status: "starting" };
let accessToken: string | null = null;
const listeners = new Set<() => void>();

const userChangeListeners = new Set<() => void>();

function userIdOf(s: Session): string | null {
  return s.status === "signedIn" ? s.user.id : null;
}

function publish(next: Session) {
  const was = userIdOf(session);
  session = next;
  for (const listener of listeners) listener();
  // A signed-in user left (logged out, or signed out by a 401) or another took their place.
  if (was !== null && was !== userIdOf(next)) {
    for (const listener of userChangeListeners) listener();
  }
}

/** Calls `listener` whenever the signed-in user leaves or changes (so their data can be dropped). */
export function onUserChange(listener: () => void): () => void {
  userChangeListeners.add(listener);
  return () => userChangeListeners.delete(listener);
}

export function accessTokenNow(): string | null {
  return accessToken;
}

export function signIn(token: string, user: User) {
  accessToken = token;
  publish({ status: "signedIn", user });
}

/** The signed-in user as the API now describes them (e.g. just verified), same session. */
export function updateUser(user: User) {
  if (session.status === "signedIn" && session.user.id === user.id) publish({ status: "signedIn", user });
}

export function signOut() {
  accessToken = null;
  publish({ status: "anonymous" });
}

export function currentSession(): Session {
  return session;
}

function subscribe(listener: () => void) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function useSession(): Session {
  return useSyncExternalStore(subscribe, currentSession);
}

export function useUser(): User | null {
  const s = useSession();
  return s.status === "signedIn" ? s.user : null;
}
