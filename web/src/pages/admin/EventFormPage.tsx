import { useMutation, useQueryClient } from "@tanstack/react-query";
import { type FormEvent, useId } from "react";
import { useNavigate, useParams } from "react-router";
import { api, type Event, unwrap } from "../../api/client";
import { ApiError } from "../../api/errors";
import type { components } from "../../api/schema";
import { ErrorAlert } from "../../components/ErrorAlert";
import { Field } from "../../components/Field";
import { userTimeZone } from "../../components/format";
import { eventKeys } from "../../events/queries";
import { WithEvent } from "../../events/WithEvent";

type Status = Event["status"];
type NewEvent = components["schemas"]["NewEvent"];
type EventPatch = components["schemas"]["EventPatch"];

/** The lifecycle of CONTRACT.md: the statuses an event may move to from each status. */
const NEXT_STATUSES: Record<Status, Status[]> = {
  draft: ["draft", "published", "cancelled"],
  published: ["published", "draft", "cancelled", "completed"],
  cancelled: ["cancelled"],
  completed: ["completed"],
};

export default function EventFormPage() {
  const { id } = useParams();
  if (!id) return <EventForm />;
  return <EditEvent id={id} />;
}

function EditEvent({ id }: { id: string }) {
  return <WithEvent id={id}>{(event) => <EventForm event={event} />}</WithEvent>;
}

/** `datetime-local` works in the user's time zone; the API wants RFC 3339 UTC. */
function toLocalInput(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value: string): string | undefined {
  const d = new Date(value);
  return value && !Number.isNaN(d.getTime()) ? d.toISOString() : undefined;
}

function numberOrUndefined(value: string): number | undefined {
  return value.trim() === "" ? undefined : Number(value);
}

function EventForm({ event }: { event?: Event }) {
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const descriptionId = useId();
  const statusId = useId();
  const statuses: Status[] = event ? NEXT_STATUSES[event.status] : ["published", "draft"];

  const save = useMutation({
    mutationFn: async (form: FormData) => {
      const text = (name: string) => String(form.get(name) ?? "");
      const fields = {
        name: text("name"),
        description: text("description"),
        venue: text("venue"),
        date: fromLocalInput(text("date")),
        price: numberOrUndefined(text("price")),
        status: text("status") as Status,
        // Empty: no limit per person (the API's null).
        maxTicketsPerUser: numberOrUndefined(text("maxTicketsPerUser")) ?? null,
      };
      if (!event) {
        const body: NewEvent = {
          ...fields,
          status: fields.status === "draft" ? "draft" : "published",
          totalTickets: numberOrUndefined(text("totalTickets")),
        } as NewEvent;
        return unwrap(api.POST("/api/v1/events", { body }));
      }
      // Only what changed: an event already under way can still be renamed.
      const patch: EventPatch = {};
      if (fields.name !== event.name) patch.name = fields.name;
      if (fields.description !== event.description) patch.description = fields.description;
      if (fields.venue !== event.venue) patch.venue = fields.venue;
      if (text("date") !== toLocalInput(event.date)) patch.date = fields.date;
      if (fields.price !== event.price) patch.price = fields.price;
      if (fields.status !== event.status) patch.status = fields.status;
      if (fields.maxTicketsPerUser !== event.maxTicketsPerUser) patch.maxTicketsPerUser = fields.maxTicketsPerUser;
      return unwrap(api.PUT("/api/v1/events/{id}", { params: { path: { id: event.id } }, body: patch }));
    },
    onSuccess: async () => {
      await queryClient.invalidateQueries({ queryKey: eventKeys.all });
      navigate("/admin/events");
    },
  });
  const errors = save.error instanceof ApiError ? save.error.fieldErrors : {};

  function onSubmit(e: FormEvent<HTMLFormElement>) {
    e.preventDefault();
    save.mutate(new FormData(e.currentTarget));
  }

  return (
    <section className="narrow">
      <h1>{event ? `Edit “${event.name}”` : "New event"}</h1>
      <form noValidate onSubmit={onSubmit}>
        <Field label="Name" name="name" required maxLength={200} defaultValue={event?.name} error={errors.name} />
        <div className="field">
          <label htmlFor={descriptionId}>Description</label>
          <textarea
            id={descriptionId}
            name="description"
            rows={4}
            maxLength={5000}
            defaultValue={event?.description}
            aria-invalid={errors.description ? true : undefined}
          />
          {errors.description && <p className="field-error">{errors.description}</p>}
        </div>
        <Field label="Venue" name="venue" required maxLength={200} defaultValue={event?.venue} error={errors.venue} />
        <Field
          label="Date"
          name="date"
          type="datetime-local"
          required
          hint={`Date and time in your time zone (${userTimeZone()}).`}
          defaultValue={event ? toLocalInput(event.date) : undefined}
          error={errors.date}
        />
        <Field
          label="Price"
          name="price"
          type="number"
          min={0}
          max={100000}
          step="0.01"
          inputMode="decimal"
          required
          hint="In USD, up to two decimals."
          defaultValue={event?.price}
          error={errors.price}
        />
        {!event && (
          <Field
            label="Total tickets"
            name="totalTickets"
            type="number"
            min={1}
            max={1000000}
            step={1}
            required
            error={errors.totalTickets}
          />
        )}
        <Field
          label="Tickets per person"
          name="maxTicketsPerUser"
          type="number"
          min={1}
          max={100}
          step={1}
          hint="The most one person may hold; leave empty for no limit beyond 10 per booking."
          defaultValue={event?.maxTicketsPerUser ?? undefined}
          error={errors.maxTicketsPerUser}
        />
        <div className="field">
          <label htmlFor={statusId}>Status</label>
          <select
            id={statusId}
            name="status"
            defaultValue={event?.status ?? "published"}
            disabled={statuses.length === 1}
          >
            {statuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
          {statuses.length === 1 && <input type="hidden" name="status" value={statuses[0]} />}
          {errors.status && <p className="field-error">{errors.status}</p>}
        </div>
        {save.isError && <ErrorAlert error={save.error} />}
        <button type="submit" className="primary" disabled={save.isPending}>
          {save.isPending ? "Saving…" : "Save event"}
        </button>
      </form>
    </section>
  );
}
