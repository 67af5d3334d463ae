import { lazy, Suspense } from "react";
import { Navigate, Route, Routes } from "react-router";
import { Loading } from "./components/Loading";
import { Nav } from "./components/Nav";
import { VerifyNotice } from "./components/VerifyNotice";
import { EventDetailsPage } from "./pages/EventDetailsPage";
import { EventsPage } from "./pages/EventsPage";
import { LoginPage } from "./pages/LoginPage";
import { NotFoundPage } from "./pages/NotFoundPage";
import { RequireAdmin, RequireUser } from "./session/guards";

// Pages most visitors never open are loaded on demand, keeping the first download small.
const RegisterPage = lazy(() => import("./pages/RegisterPage"));
const MyBookingsPage = lazy(() => import("./pages/MyBookingsPage"));
const CheckoutPage = lazy(() => import("./pages/CheckoutPage"));
const AdminEventsPage = lazy(() => import("./pages/admin/AdminEventsPage"));
const EventFormPage = lazy(() => import("./pages/admin/EventFormPage"));
const CheckInPage = lazy(() => import("./pages/admin/CheckInPage"));
const EventDashboardPage = lazy(() => import("./pages/admin/EventDashboardPage"));
const ForgotPasswordPage = lazy(() => import("./pages/ForgotPasswordPage"));
const ResetPasswordPage = lazy(() => import("./pages/ResetPasswordPage"));
const VerifyEmailPage = lazy(() => import("./pages/VerifyEmailPage"));
const AccountPage = lazy(() => import("./pages/AccountPage"));

export function App() {
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Nav />
      <main id="main" tabIndex={-1}>
        <VerifyNotice />
        <Suspense fallback={<Loading label="Loading…" />}>
          <Routes>
            <Route path="/" element={<Navigate to="/events" replace />} />
            <Route path="/events" element={<EventsPage />} />
            <Route path="/events/:id" element={<EventDetailsPage />} />
            <Route path="/login" element={<LoginPage />} />
            <Route path="/register" element={<RegisterPage />} />
            <Route path="/forgot-password" element={<ForgotPasswordPage />} />
            <Route path="/reset-password" element={<ResetPasswordPage />} />
            <Route path="/verify-email" element={<VerifyEmailPage />} />
            <Route
              path="/account"
              element={
                <RequireUser>
                  <AccountPage />
                </RequireUser>
              }
            />
            <Route
              path="/bookings"
              element={
                <RequireUser>
                  <MyBookingsPage />
                </RequireUser>
              }
            />
            <Route
              path="/checkout/:bookingId"
              element={
                <RequireUser>
                  <CheckoutPage />
                </RequireUser>
              }
            />
            <Route
              path="/admin/events"
              element={
                <RequireAdmin>
                  <AdminEventsPage />
                </RequireAdmin>
              }
            />
            <Route
              path="/admin/events/new"
              element={
                <RequireAdmin>
                  <EventFormPage />
                </RequireAdmin>
              }
            />
            <Route
              path="/admin/events/:id/edit"
              element={
                <RequireAdmin>
                  <EventFormPage />
                </RequireAdmin>
              }
            />
            <Route
              path="/admin/events/:id"
              element={
                <RequireAdmin>
                  <EventDashboardPage />
                </RequireAdmin>
              }
            />
            <Route
              path="/admin/events/:id/check-in"
              element={
                <RequireAdmin>
                  <CheckInPage />
                </RequireAdmin>
              }
            />
            <Route path="*" element={<NotFoundPage />} />
          </Routes>
        </Suspense>
      </main>
    </>
  );
}
