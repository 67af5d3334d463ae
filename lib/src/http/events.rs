//! `/api/v1/events`: public listing and details, admin create/update/soft delete.

use super::{json, Admin, Endpoint, JsonBody, MaybeCaller, QueryMap};
use crate::domain::event::EventFields;
use crate::domain::{EventPatch, EventQuery, NewEvent};
use crate::ids::EventId;
use crate::{views, AppError, AppState};
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
    ]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreateEventBody {
    #[serde(default, deserialize_with = "super::extract::non_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    description: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    venue: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    date: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    price: Option<f64>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    total_tickets: Option<i64>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    status: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UpdateEventBody {
    #[serde(default, deserialize_with = "super::extract::non_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    description: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    venue: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    date: Option<String>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    price: Option<f64>,
    #[serde(default, deserialize_with = "super::extract::non_null")]
    status: Option<String>,
    // Accepted by the parser only to be refused with a clear message.
    #[serde(default)]
    total_tickets: Option<Value>,
    #[serde(default)]
    available_tickets: Option<Value>,
}

async fn list(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    QueryMap(params): QueryMap,
) -> Result<Response, AppError> {
    let query = EventQuery::parse(&params)?;
    let (events, meta) = state.events.list(who, &query).await?;
    let data = Value::Array(events.iter().map(views::event).collect());
    Ok(json(
        StatusCode::OK,
        &views::success("OK", data, Some(meta)),
    ))
}

async fn show(
    State(state): State<AppState>,
    MaybeCaller(who): MaybeCaller,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    let event = state.events.get(who, id).await?;
    Ok(json(
        StatusCode::OK,
        &views::success("OK", views::event(&event), None),
    ))
}

async fn create(
    State(state): State<AppState>,
    Admin(_): Admin,
    JsonBody(body): JsonBody<CreateEventBody>,
) -> Result<Response, AppError> {
    let fields = EventFields {
        name: body.name,
        description: body.description,
        venue: body.venue,
        date: body.date,
        price: body.price,
        total_tickets: body.total_tickets,
        status: body.status,
    };
    let event = state
        .events
        .create(NewEvent::parse(fields, chrono::Utc::now())?)
        .await?;
    Ok(json(
        StatusCode::CREATED,
        &views::success("Event created", views::event(&event), None),
    ))
}

async fn update(
    State(state): State<AppState>,
    Admin(_): Admin,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateEventBody>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    if body.available_tickets.is_some() {
        return Err(AppError::validation(
            "availableTickets",
            "cannot be changed",
        ));
    }
    let fields = EventFields {
        name: body.name,
        description: body.description,
        venue: body.venue,
        date: body.date,
        price: body.price,
        total_tickets: body.total_tickets.map(|_| 0),
        status: body.status,
    };
    let event = state
        .events
        .update(id, EventPatch::parse(fields, chrono::Utc::now())?)
        .await?;
    Ok(json(
        StatusCode::OK,
        &views::success("Event updated", views::event(&event), None),
    ))
}

async fn remove(
    State(state): State<AppState>,
    Admin(who): Admin,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = EventId::parse(&id, "id")?;
    state.events.delete(who, id).await?;
    Ok(json(
        StatusCode::OK,
        &serde_json::json!({ "success": true, "message": "Event deleted" }),
    ))
}
