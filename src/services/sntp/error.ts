/**
 * The one error type of the SNTP service. `code` says what went wrong; `detail.field` names the
 * packet field that was wrong, and a Kiss-o'-Death carries its kiss code in `detail.code`.
 */
import { LwsxError } from '../../util/errors.js';

export type SntpErrorCode =
  /** not an NTP server reply: length, mode or version */
  | 'ERR_SNTP_PARSE'
  /** the server sent Kiss-o'-Death RATE, DENY or RSTR (detail.code) */
  | 'ERR_SNTP_KOD'
  /** the server has no time to give: leap indicator 3, stratum 16+, or stratum 0 without an actionable kiss code */
  | 'ERR_SNTP_UNSYNC'
  /** a reply that cannot be ours or cannot be true: origin not echoed, zero timestamps, a time before the valid threshold */
  | 'ERR_SNTP_BOGUS'
  /** a server given by name and no resolver, or the resolver failed */
  | 'ERR_SNTP_RESOLVE'
  /** no server configured anywhere (blob, DHCP, board, default), or every one refused us */
  | 'ERR_SNTP_NO_SERVER'
  /** the UDP socket failed (a host error without a code of its own) */
  | 'ERR_SNTP_SOCKET'
  /** the retry policy stopped concealing failures: this sync round is over */
  | 'ERR_SNTP_FAILED'
  /** a packet field given to the encoder is out of its range */
  | 'ERR_SNTP_FIELD';

export class SntpError extends LwsxError {
  declare readonly code: SntpErrorCode;

  constructor(code: SntpErrorCode, message: string, detail?: Record<string, unknown>, cause?: unknown) {
    super(code, message, detail, cause);
  }
}
