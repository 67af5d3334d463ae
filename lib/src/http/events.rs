//! `/api/v1/events`: public listing and details, admin create/update/soft delete.

use super::{envelope, Admin, Endpoint, JsonBody, MaybeCaller, QueryMap};
use crate::domain::event::EventFields;
use crate::domain::ids::EventId;
use crate::domain::{DomainError, EventPatch, EventQuery, FieldError, NewEvent};
use crate::views::{AdmissionView, AttendeeView, Envelope, EventView, StatsView};
use crate::{AppError, AppState};
use axum::extract::{Path, State};
use axum::http::{Method, StatusCode};
use axum::response::Response;
use axum::routing::{delete, get, post, put};
use serde::Deserialize;
use serde_json::Value;

pub fn endpoints() -> Vec<Endpoint> {
    vec![
        Endpoint::new(Method::GET, "/api/v1/events", get(list)),
        Endpoint::new(Method::POST, "/api/v1/events", post(create)),
        Endpoint::new(Method::GET, "/api/v1/events/{id}", get(show)),
        Endpoint::new(Method::PUT, "/api/v1/events/{id}", put(update)),
        Endpoint::new(Method::DELETE, "/api/v1/events/{id}", delete(remove)),
        Endpoint::new(
            Method::POST,
            "/api/v1/events/{id}/check-ins",
            post(check_in),
        ),
        Endpoint::new(Method::GET, "/api/v1/events/{id}/stats", get(stats)),
        Endpoint::new(Method::GET, "/api/v1/events/{id}/attendees", get(attendees)),
    ]
}

/// The body of create and update: the same fields, strictly typed; an explicit `null` is a
/// type error like any other.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EventBody {
    #[serde(default, deserialize_with = "super::extract::non_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    description: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    venue: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    date: Option<String>,
    /// Kept as the number's exact text: a float would round `0.30000000000000004` into validity.
    #[serde(default, deserialize_with = "super::extract::non_null")]
    price: Option<Box<serde_json::value::RawValue>>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    total_tickets: Option<i64>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    status: Option<String>,
    /// `null` is a value here (no limit), told apart from an absent field.
    #[serde(default, deserialize_with = "super::extract::nullable")]
    max_tickets_per_user: Option<Option<i64>>,
    /// Accepted by the parser only to be refused with a clear message: the store keeps it.
    #[serde(default)]
    available_tickets: Option<Value>,
}

impl EventBody {
    /// Parses the fields with `parse`; a refused `availableTickets` is reported with its errors.
    fn into_fields<T>(
        self,
        parse: impl FnOnce(EventFields) -> Result<T, DomainError>,
    ) -> Result<T, AppError> {
        let counter_set = self.available_tickets.is_some();
        let parsed = parse(EventFields {
            name: self.name,
            description: self.description,
            venue: self.venue,
            date: self.date,
            price: self.price.map(|raw| raw.get().to_owned()),
            total_tickets: self.total_tickets,
            status: self.status,
            max_tickets_per_user: self.max_tickets_per_user,
        });
        if !counter_set {
            return parsed.map_err(AppError::from);
        }
        let mut errors = vec![FieldError::new("availableTickets", "cannot be set")];
        if let Err(DomainError::Invalid(more)) = parsed {
            errors.extend(more);
        }
        Err(AppError::Validation(errors))
    }
}

async fn list(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    QueryMap(params): QueryMap,
) -> Result<Response, AppError> {
    let query = EventQuery::parse(&params)?;
    let ((events, meta), _) = state.events.list(who, &query).await?;
    let data: Vec<EventView> = events.iter().map(EventView::from).collect();
    Ok(envelope(StatusCode::OK, &Envelope::page("OK", data, meta)))
}

async fn show(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    let event = state.events.get(who, id).await?;
    Ok(envelope(
        StatusCode::OK,
        &Envelope::ok("OK", EventView::from(&event)),
    ))
}

async fn create(
    State(state): State<AppState>,
    Admin(_): Admin,
    body: JsonBody<EventBody>,
) -> Result<Response, AppError> {
    let now = chrono::Utc::now();
    let new_event = body.parse(|body| body.into_fields(|fields| NewEvent::parse(fields, now)))?;
    let event = state.events.create(new_event).await?;
    Ok(envelope(
        StatusCode::CREATED,
        &Envelope::ok("Event created", EventView::from(&event)),
    ))
}

async fn update(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    body: JsonBody<EventBody>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    let now = chrono::Utc::now();
    // `EventPatch::parse` refuses `totalTickets`: the counters are not editable.
    let patch = body.parse(|body| body.into_fields(|fields| EventPatch::parse(fields, now)))?;
    let event = state.events.update(id, patch).await?;
    Ok(envelope(
        StatusCode::OK,
        &Envelope::ok("Event updated", EventView::from(&event)),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    state.events.delete(who, id).await?;
    Ok(envelope(StatusCode::OK, &Envelope::done("Event deleted")))
}

/// The body of a check-in: the scanned code.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckInBody {
    code: String,
}

async fn check_in(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    body: JsonBody<CheckInBody>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    let code = body.parse(|body| Ok::<_, AppError>(body.code))?;
    let admission = state.door.check_in(id, &code).await?;
    Ok(envelope(
        StatusCode::CREATED,
        &Envelope::ok("Admitted", AdmissionView::from(&admission)),
    ))
}

async fn stats(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    let stats = state.events.stats(who, id).await?;
    Ok(envelope(
        StatusCode::OK,
        &Envelope::ok("OK", StatsView::from(&stats)),
    ))
}

/// The attendee list: a page of JSON, or with `Accept: text/csv` the whole list as CSV.
async fn attendees(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
    headers: axum::http::HeaderMap,
    QueryMap(params): QueryMap,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    let wants_csv = headers
        .get_all(axum::http::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.to_ascii_lowercase().contains("text/csv"));
    if wants_csv {
        let rows = state.events.all_attendees(who, id).await?;
        let mut response =
            Response::new(axum::body::Body::from(crate::views::attendees_csv(&rows)));
        let headers = response.headers_mut();
        headers.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("text/csv; charset=utf-8"),
        );
        headers.insert(
            axum::http::header::CONTENT_DISPOSITION,
            axum::http::HeaderValue::from_static("attachment; filename=\"attendees.csv\""),
        );
        return Ok(response);
    }
    let mut problems = crate::domain::Problems::default();
    let page = crate::domain::PageParams::parse(
        &mut problems,
        params.get("page").map(String::as_str),
        params.get("limit").map(String::as_str),
    );
    problems.into_result(())?;
    let (rows, meta) = state.events.attendees(who, id, page).await?;
    let data: Vec<AttendeeView> = rows.iter().map(AttendeeView::from).collect();
    Ok(envelope(StatusCode::OK, &Envelope::page("OK", data, meta)))
}
