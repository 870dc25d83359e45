//! The age gate at sign-up: Lithos serves no one under 13. The birth date is read, checked
//! against today, and dropped; only the time of the confirmation is stored
//! (`users.age_confirmed_at`). Refusals name no cut-off in the form, only in the answer.

use time::{Date, Month, OffsetDateTime};

use crate::domain::{DomainError, DomainResult};

/// The youngest age Lithos serves.
pub const MINIMUM_AGE: i32 = 13;

/// Whether the person born on `birth_date` (`YYYY-MM-DD`) may have an account on `today`:
/// `Ok(true)` when they are at least [`MINIMUM_AGE`], `Ok(false)` when younger, and an error
/// when the date is malformed, in the future or before 1900.
pub fn old_enough(birth_date: &str, today: Date) -> DomainResult<bool> {
    let invalid = || DomainError::invalid("birth_date", "must be a date as YYYY-MM-DD");
    let mut parts = birth_date.trim().splitn(3, '-');
    let mut number = |digits: usize| {
        parts
            .next()
            .filter(|p| p.len() == digits && p.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|p| p.parse::<i32>().ok())
            .ok_or_else(invalid)
    };
    let (year, month, day) = (number(4)?, number(2)?, number(2)?);
    let month =
        u8::try_from(month).ok().and_then(|m| Month::try_from(m).ok()).ok_or_else(invalid)?;
    let day = u8::try_from(day).map_err(|_| invalid())?;
    let born = Date::from_calendar_date(year, month, day).map_err(|_| invalid())?;
    if born > today || year < 1900 {
        return Err(DomainError::invalid("birth_date", "is not a possible date of birth"));
    }
    // Someone born on 29 February turns a year older on 1 March in common years.
    let birthday = born
        .replace_year(year + MINIMUM_AGE)
        .or_else(|_| Date::from_calendar_date(year + MINIMUM_AGE, Month::March, 1))
        .map_err(|_| invalid())?;
    Ok(birthday <= today)
}

/// [`old_enough`] today (UTC).
pub fn old_enough_today(birth_date: &str) -> DomainResult<bool> {
    old_enough(birth_date, OffsetDateTime::now_utc().date())
}

/// What a person under the minimum age is told. Nothing about them has been stored.
pub const REFUSAL: &str = "Lithos is not available to people under 13, so no account was \
                           created. Nothing you entered has been kept.";

#[cfg(test)]
mod tests {
    use super::*;

    fn day(y: i32, m: u8, d: u8) -> Date {
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
    }

    #[test]
    fn the_thirteenth_birthday_is_the_first_day_served() {
        let today = day(2026, 11, 30);
        assert!(old_enough("2013-11-30", today).unwrap());
        assert!(!old_enough("2013-12-01", today).unwrap());
        assert!(old_enough("1950-01-01", today).unwrap());
        assert!(!old_enough("2026-11-30", today).unwrap());
    }

    #[test]
    fn a_leap_day_birthday_counts_from_the_first_of_march() {
        assert!(!old_enough("2012-02-29", day(2025, 2, 28)).unwrap());
        assert!(old_enough("2012-02-29", day(2025, 3, 1)).unwrap());
    }

    #[test]
    fn malformed_and_impossible_dates_are_named() {
        let today = day(2026, 11, 30);
        for bad in ["", "2010", "2010-13-01", "2010-02-30", "10-01-01", "2010/01/01", "2010-1-1"] {
            assert!(
                matches!(
                    old_enough(bad, today),
                    Err(DomainError::Invalid { field: "birth_date", .. })
                ),
                "{bad}"
            );
        }
        for impossible in ["2027-01-01", "1899-12-31"] {
            assert!(old_enough(impossible, today).is_err(), "{impossible}");
        }
    }
}
