// Signing in and out through the API. The refresh token arrives as an httpOnly cookie; the copy
// in the response body is deliberately dropped.
import { api, refreshSession, unwrap } from "../api/client";
import { signIn, signOut, updateUser } from "./store";

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

/** Asks for a reset link: the answer is the same whether or not an account has the address. */
export async function forgotPassword(email: string): Promise<void> {
  await unwrap(api.POST("/api/v1/auth/password/forgot", { body: { email } }));
}

export async function resetPassword(token: string, password: string): Promise<void> {
  await unwrap(api.POST("/api/v1/auth/password/reset", { body: { token, password } }));
}

/** Spends a verification link's token; a signed-in user of that address is shown verified. */
export async function verifyEmail(token: string): Promise<void> {
  const body = await unwrap(api.POST("/api/v1/auth/email/verify", { body: { token } }));
  if (body.data?.user) updateUser(body.data.user);
}

export async function resendVerification(): Promise<void> {
  await unwrap(api.POST("/api/v1/auth/email/verify/resend", {}));
}

/** A new password: the server ends every other session and hands this one new tokens. */
export async function changePassword(currentPassword: string, newPassword: string): Promise<void> {
  const body = await unwrap(api.POST("/api/v1/auth/password/change", { body: { currentPassword, newPassword } }));
  if (body.data) signIn(body.data.accessToken, body.data.user);
}
