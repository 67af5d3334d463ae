// Signing in and out through the API. The refresh token arrives as an httpOnly cookie; the copy
// in the response body is deliberately dropped.
import { api, refreshSession, unwrap } from "../api/client";
import { signIn, signOut } from "./store";

export async function logIn(email: string, password: string): Promise<void> {
  const body = await unwrap(api.POST("/api/v1/auth/login", { body: { email, password } }));
  if (body.data) signIn(body.data.accessToken, body.data.user);
}

export async function register(name: string, email: string, password: string): Promise<void> {
  const body = await unwrap(api.POST("/api/v1/auth/register", { body: { name, email, password } }));
  if (body.data) signIn(body.data.accessToken, body.data.user);
}

/** Ends the session on the server (the cookie's refresh token stops working), then here. */
export async function logOut(): Promise<void> {
  try {
    await api.POST("/api/v1/auth/logout", { body: {} });
  } finally {
    signOut();
  }
}

/** At start: a reload keeps the user signed in through the refresh cookie. */
export async function resumeSession(): Promise<void> {
  if (!(await refreshSession())) signOut();
}
