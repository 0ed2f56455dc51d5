//! The catalog's enums as storage text (see `janta_platform::columns`).

use crate::domain::{DosageForm, MovementKind, ReservationStatus, Schedule};

janta_platform::text_column!(DosageForm, Schedule, ReservationStatus, MovementKind);
