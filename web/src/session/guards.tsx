import type { ReactNode } from "react";
import { Navigate, useLocation } from "react-router";
import { Loading } from "../components/Loading";
import { NotFoundPage } from "../pages/NotFoundPage";
import { useSession } from "./store";

/** Signed-in users only; others go to the login page and come back afterwards. */
export function RequireUser({ children }: { children: ReactNode }) {
  const session = useSession();
  const location = useLocation();
  if (session.status === "starting") return <Loading label="Checking your session…" />;
  if (session.status === "anonymous") return <Navigate to="/login" replace state={{ from: location }} />;
  return children;
}

/** Admins only; anyone else sees the not-found page, as if the route did not exist. */
export function RequireAdmin({ children }: { children: ReactNode }) {
  const session = useSession();
  if (session.status === "starting") return <Loading label="Checking your session…" />;
  if (session.status !== "signedIn" || session.user.role !== "admin") return <NotFoundPage />;
  return children;
}
