package promo

import (
	"errors"
	"fmt"
)

// Error codes. Each is the "key" of the API's error envelope; the HTTP layer
// maps each to a status in one table. Anything that is not an *Error is an
// internal error.
const (
	EInternal          = "internal_error"
	EInvalidPayload    = "invalid_payload"
	EInvalidParam      = "invalid_query_params"
	ENotFound          = "not_found"
	EDuplicateFound    = "duplicate_found"
	EUnauthorized      = "unauthorized"
	EMethodNotAllowed  = "method_not_allowed"
	ETooLarge          = "payload_too_large"
	EUnsupportedMedia  = "unsupported_media_type"
	EPageOverLimit     = "page_over_limit"
	EInvalidCampaign   = "invalid_campaign"
	EInvalidCodeConfig = "invalid_code_config"
	EInvalidCode       = "invalid_code"
	EInvalidVoucher    = "invalid_voucher"
	EInvalidCustomer   = "invalid_customer"
	EInvalidOrder      = "invalid_order"
	EMissingVouchers   = "missing_vouchers"
	EMissingCustomer   = "missing_customer"
	// ENoVoucherSuitable: a campaign's pool has no code left to publish.
	ENoVoucherSuitable    = "no_voucher_suitable_for_publication"
	EVoucherPublished     = "voucher_already_published"
	EDuplicateSourceID    = "duplicate_source_id"
	ECampaignInProgress   = "campaign_in_progress"
	EVoucherDisabled      = "voucher_disabled"
	ECampaignDisabled     = "campaign_disabled"
	ECodesExhausted       = "codes_exhausted"
	EResourceInUse        = "resource_in_use"
	EIdempotencyKeyReused = "idempotency_key_reused"
	EUnavailable          = "service_unavailable"
	ETooManyRequests      = "too_many_requests"
	// ECodeNotApplicable: a client key's one refusal of a code, whatever
	// the reason (see the client routes).
	ECodeNotApplicable = "code_not_applicable"
	// EForbidden: the API key may not call the route, or not from the
	// request's origin.
	EForbidden = "forbidden"
	// EBudgetExceeded: a redemption would pass a campaign's budget.
	EBudgetExceeded        = "campaign_budget_exceeded"
	EInvalidAsyncActionArg = "invalid_async_action"
)

// Error is an application error: something the client can act on. Its Code
// picks the HTTP status; Message is short and fixed for a code, Details says
// what exactly went wrong.
type Error struct {
	Code         string
	Message      string
	Details      string
	ResourceID   string
	ResourceType string
	Err          error // the cause, for logs; never shown to clients
}

func (e *Error) Error() string {
	s := e.Code + ": " + e.Message
	if e.Details != "" {
		s += ": " + e.Details
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf returns an *Error with code, a message that is the code's standard
// one, and details from format and args.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: messageOf(code), Details: fmt.Sprintf(format, args...)}
}

// NotFound returns the error for a missing resource of a type ("voucher",
// "campaign", ...) named by id.
func NotFound(resourceType, id string) *Error {
	return &Error{
		Code:         ENotFound,
		Message:      messageOf(ENotFound),
		Details:      fmt.Sprintf("Cannot find %s with id %s", resourceType, id),
		ResourceID:   id,
		ResourceType: resourceType,
	}
}

// Duplicate returns the error for a resource that already exists.
func Duplicate(resourceType, id string) *Error {
	return &Error{
		Code:         EDuplicateFound,
		Message:      messageOf(EDuplicateFound),
		Details:      fmt.Sprintf("Duplicated %s exists with id %s", resourceType, id),
		ResourceID:   id,
		ResourceType: resourceType,
	}
}

// ErrorCode returns the code of err's *Error, EInternal when it has none, and
// "" for nil.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e):
		return e.Code
	}
	return EInternal
}

// messageOf gives each code its fixed message.
func messageOf(code string) string {
	switch code {
	case EResourceNotFound:
		return "Resource not found"
	case EVoucherNotActive:
		return "Voucher not active"
	case EVoucherExpired:
		return "Voucher expired"
	case EQuantityExceeded:
		return "Quantity exceeded"
	case EBudgetExceeded:
		return "Campaign budget exceeded"
	case EForbidden:
		return "Forbidden"
	case EDuplicatedRedeemables:
		return "Duplicated redeemables"
	case EInvalidRedeemables:
		return "Invalid redeemables"
	case EAlreadyRolledBack:
		return "Already rolled back"
	case ERollbackFailed:
		return "Rollback failed"
	case EInvalidPayload:
		return "Invalid payload"
	case EInvalidParam:
		return "Invalid query parameters"
	case ENotFound:
		return "Resource not found"
	case EDuplicateFound:
		return "Duplicated resource found"
	case EUnauthorized:
		return "Unauthorized"
	case EMethodNotAllowed:
		return "Method not allowed"
	case ETooLarge:
		return "Payload too large"
	case EUnsupportedMedia:
		return "Unsupported media type"
	case EPageOverLimit:
		return "Page over limit"
	case EInvalidCampaign:
		return "Invalid campaign"
	case EInvalidCodeConfig:
		return "Invalid code config"
	case EInvalidCode:
		return "Invalid code"
	case EInvalidVoucher:
		return "Invalid voucher"
	case EInvalidCustomer:
		return "Invalid customer"
	case EInvalidOrder:
		return "Invalid order"
	case EMissingVouchers:
		return "Missing vouchers"
	case EMissingCustomer:
		return "Missing customer"
	case ENoVoucherSuitable:
		return "Couldn't find any voucher suitable for publication"
	case EVoucherPublished:
		return "Voucher already published"
	case EDuplicateSourceID:
		return "Duplicated source_id"
	case ECampaignInProgress:
		return "Campaign is being generated"
	case EVoucherDisabled:
		return "Voucher is disabled"
	case ECampaignDisabled:
		return "Campaign is disabled"
	case ECodesExhausted:
		return "No codes left in the code space"
	case EResourceInUse:
		return "Resource in use"
	case EIdempotencyKeyReused:
		return "Idempotency key reused"
	case EUnavailable:
		return "Service unavailable"
	case ETooManyRequests:
		return "Too many requests"
	case EInvalidAsyncActionArg:
		return "Invalid async action"
	}
	return "Internal error"
}
