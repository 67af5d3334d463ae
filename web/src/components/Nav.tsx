import { useState } from "react";
import { Link, NavLink, useNavigate } from "react-router";
import { logOut } from "../session/actions";
import { useSession } from "../session/store";

export function Nav() {
  const session = useSession();
  const navigate = useNavigate();
  const [leaving, setLeaving] = useState(false);
  const user = session.status === "signedIn" ? session.user : null;

  async function onLogOut() {
    setLeaving(true);
    try {
      await logOut();
    } finally {
      // The query cache is cleared by the sign-out itself (see main.tsx).
      setLeaving(false);
      navigate("/events");
    }
  }

  return (
    <header className="topbar">
      <Link to="/events" className="brand">
        Ticketing
      </Link>
      <nav aria-label="Main">
        <ul>
          <li>
            <NavLink to="/events" end>
              Events
            </NavLink>
          </li>
          {user && (
            <li>
              <NavLink to="/bookings">My bookings</NavLink>
            </li>
          )}
          {user?.role === "admin" && (
            <li>
              <NavLink to="/admin/events">Manage events</NavLink>
            </li>
          )}
          {session.status === "anonymous" && (
            <li>
              <NavLink to="/login">Log in</NavLink>
            </li>
          )}
          {user && (
            <li className="who">
              <NavLink to="/account" className="user-name">
                {user.name}
              </NavLink>
              <button type="button" onClick={onLogOut} disabled={leaving}>
                Log out
              </button>
            </li>
          )}
        </ul>
      </nav>
    </header>
  );
}
