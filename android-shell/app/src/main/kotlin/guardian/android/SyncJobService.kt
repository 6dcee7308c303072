package guardian.android

import android.app.job.JobInfo
import android.app.job.JobParameters
import android.app.job.JobScheduler
import android.app.job.JobService
import android.content.ComponentName
import android.content.Context
import java.util.concurrent.TimeUnit
import kotlinx.coroutines.CoroutineScope
import kotlinx.coroutines.Dispatchers
import kotlinx.coroutines.Job
import kotlinx.coroutines.SupervisorJob
import kotlinx.coroutines.cancel
import kotlinx.coroutines.launch
import uniffi.guardian_ffi.SyncException

/**
 * Background sync: JobScheduler runs this when a network is there, so the
 * outbox drains even when the app is not open. The core decides what to
 * send and how to retry; this only gives it the chance.
 */
class SyncJobService : JobService() {
    private val scope = CoroutineScope(SupervisorJob() + Dispatchers.IO)
    private var running: Job? = null

    override fun onStartJob(params: JobParameters): Boolean {
        val g = handset.guardianOrNull() ?: return false
        running = scope.launch {
            val retry = try {
                g.syncNow()
                false
            } catch (e: SyncException.Network) {
                true // No signal after all: let the scheduler back off and retry.
            } catch (e: SyncException) {
                false // Told to the officer through the core's events and sync status.
            }
            jobFinished(params, retry)
        }
        return true
    }

    override fun onStopJob(params: JobParameters): Boolean {
        running?.cancel()
        return true
    }

    override fun onDestroy() {
        scope.cancel()
        super.onDestroy()
    }

    companion object {
        const val JOB_ID = 4201

        fun schedule(context: Context) {
            val job = JobInfo.Builder(JOB_ID, ComponentName(context, SyncJobService::class.java))
                .setRequiredNetworkType(JobInfo.NETWORK_TYPE_ANY)
                .setPeriodic(TimeUnit.MINUTES.toMillis(15))
                .build()
            context.getSystemService(JobScheduler::class.java).schedule(job)
        }
    }
}
