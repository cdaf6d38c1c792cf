/**
 * When the wall clock counts as valid: libwebsockets holds TIME_VALID while the clock reads
 * before 1594017754 (06:42 Mon Jul 6 2020 UTC), a date no correctly set clock can show again.
 * A clock before it has never been set (an RTC that lost power counts from 1970 or 2000).
 */
export const TIME_VALID_THRESHOLD_S = 1_594_017_754;
export const TIME_VALID_THRESHOLD_US = TIME_VALID_THRESHOLD_S * 1_000_000;
