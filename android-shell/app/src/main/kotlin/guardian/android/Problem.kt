package guardian.android

import uniffi.guardian_ffi.StoreException

/**
 * What the officer is told when the data on the phone cannot be used.
 * One screen ([ProblemActivity]) draws each; never a crash.
 */
enum class Problem(val title: Int, val body: Int, val action: Action) {
    /** The key is gone or wrong: nothing here can be read again. */
    UNREADABLE(R.string.problem_unreadable_title, R.string.problem_unreadable_body, Action.START_AFRESH),
    /** The phone's storage failed or is full: may pass. */
    STORAGE(R.string.problem_storage_title, R.string.problem_storage_body, Action.RETRY),
    /** The file is damaged: the core can salvage what it can read. */
    DAMAGED(R.string.problem_damaged_title, R.string.problem_damaged_body, Action.RECOVER),
    /** The phone's storage is full: nothing was lost; free space and retry. */
    FULL(R.string.problem_full_title, R.string.problem_full_body, Action.RETRY),
    /** Written by a newer app. */
    UPDATE_APP(R.string.problem_too_new_title, R.string.problem_too_new_body, Action.NONE),
    ;

    enum class Action { START_AFRESH, RECOVER, RETRY, NONE }

    companion object {
        /** The one place a store error becomes a screen (exhaustive: a new variant will not compile). */
        fun of(e: StoreException): Problem = when (e) {
            is StoreException.WrongKey, is StoreException.BadKey, is StoreException.NotEncrypted -> UNREADABLE
            is StoreException.TooNew -> UPDATE_APP
            is StoreException.Corrupt -> DAMAGED
            is StoreException.Full -> FULL
            is StoreException.Storage -> STORAGE
        }
    }
}
