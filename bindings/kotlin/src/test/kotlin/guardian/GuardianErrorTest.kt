package guardian

import java.io.File
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertArrayEquals
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNotNull
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.guardian_ffi.Fix
import uniffi.guardian_ffi.Guardian
import uniffi.guardian_ffi.InternalException
import uniffi.guardian_ffi.Officer
import uniffi.guardian_ffi.PatrolException
import uniffi.guardian_ffi.Rank
import uniffi.guardian_ffi.StoreException
import uniffi.guardian_ffi.SyncException
import uniffi.guardian_ffi.GuardianConfig
import uniffi.guardian_ffi.debugPanic
import uniffi.guardian_ffi.recoverStore

/** Each error reaches Kotlin as a typed exception with a readable message. */
class GuardianErrorTest {
    private val area = "trk-garmin"
    private val fixes = loadGpx("garmin-activity.gpx")

    private fun localHandset(): Guardian {
        val h = openHandset(tempDir().resolve("handset.db"))
        assertTrue(h.importAreasGeojson(Paths.areas.readText()) > 0u)
        h.setOfficer(Officer("wm-0001", "PC Test", Rank.CONSTABLE))
        return h
    }

    /** Index of the fix at which the core confirms an arrival. */
    private fun walkIn(h: Guardian): Int = fixes.indexOfFirst { h.ingestFix(it).events.isNotEmpty() }

    @Test
    fun `a wrong key is refused and the file is left alone`() {
        val path = tempDir().resolve("handset.db")
        openHandset(path).use { it.importAreasGeojson(Paths.areas.readText()) }
        val before = File(path.toString()).readBytes()
        val e = assertThrows<StoreException.WrongKey> { openHandset(path, key = ByteArray(32) { 9 }) }
        assertTrue(e.message!!.contains("key"))
        assertArrayEquals(before, File(path.toString()).readBytes())
        openHandset(path).use { assertNotNull(it.area(area)) }
        assertThrows<StoreException.BadKey> { openHandset(tempDir().resolve("x.db"), key = ByteArray(5)) }
    }

    @Test
    fun `a damaged file is told from a wrong key and recovered`() {
        val path = tempDir().resolve("handset.db")
        openHandset(path).use { it.importAreasGeojson(Paths.areas.readText()) }
        val file = File(path.toString())
        val damaged = file.readBytes()
        for (i in 100 until 164) damaged[i] = (damaged[i].toInt() xor 0xFF).toByte()
        file.writeBytes(damaged)
        assertThrows<StoreException.Corrupt> { openHandset(path) }
        assertThrows<StoreException.WrongKey> { openHandset(path, key = ByteArray(32) { 9 }) }
        val config = GuardianConfig(dbPath = path.toString(), backendUrl = "http://127.0.0.1:9", pinnedCaPem = null, requestTimeoutMs = null)
        assertThrows<StoreException.WrongKey> { recoverStore(config, ByteArray(32) { 9 }) }
        val report = recoverStore(config, KEY)
        assertTrue(report.damagedTables.contains("outbox"))
        assertArrayEquals(damaged, File(report.damagedCopy).readBytes())
        openHandset(path).use { assertNull(it.area(area)) }
    }

    @Test
    fun `checking out with no patrol is an illegal transition`() {
        localHandset().use { h ->
            val e = assertThrows<PatrolException.NoActivePatrol> { runBlocking { h.checkOut(fixes[0]) } }
            assertEquals("not checked in to any patrol", e.message)
            val at = walkIn(h)
            runBlocking { h.checkIn(area, fixes[at]) }
            assertThrows<PatrolException.AlreadyOnPatrol> { runBlocking { h.checkIn(area, fixes[at + 1]) } }
            assertThrows<PatrolException.UnknownArea> { runBlocking { h.checkIn("nowhere", fixes[at + 1]) } }
        }
    }

    @Test
    fun `an impossible fix is refused and not stored`() {
        localHandset().use { h ->
            val nan = Fix(fixes[0].timeMs, 1, Double.NaN, -1.9, 5.0, null, null, null)
            val e = assertThrows<PatrolException.InvalidFix> { h.ingestFix(nan) }
            assertTrue(e.message!!.contains("latitude is not a number"))
            val out = runBlocking { h.ingestFixes(listOf(fixes[0], nan, fixes[1])) }
            assertEquals(2u, out.stored)
            assertEquals(listOf(1u), out.invalid.map { it.index })
        }
    }

    @Test
    fun `sign-out is refused while anything is unsynced`() {
        localHandset().use { h ->
            val at = walkIn(h)
            runBlocking {
                h.checkIn(area, fixes[at])
                assertThrows<SyncException.PatrolOpen> { runBlocking { h.signOut(false) } }
                h.checkOut(fixes[at + 60])
                val e = assertThrows<SyncException.Unsynced> { runBlocking { h.signOut(false) } }
                assertTrue(e.message!!.contains("sync before signing out"))
                assertTrue(h.signOut(true) >= 2u)
            }
            assertNull(h.officer())
        }
    }

    @Test
    fun `a login failure is a typed sync error`() {
        val dir = tempDir()
        Force.start(dir).use { force ->
            openHandset(dir.resolve("h.db"), force.url).use { h ->
                assertThrows<SyncException.NotStarted> { runBlocking { h.syncNow() } }
                h.startSync(NoLogin())
                val e = assertThrows<SyncException.Auth> { runBlocking { h.syncNow() } }
                assertTrue(e.message!!.contains("not signed in"))
            }
        }
    }

    @Test
    fun `a panic in Rust reaches Kotlin as an exception, not a crash`() {
        val e = assertThrows<InternalException> { debugPanic("deliberate") }
        assertTrue(e.message!!.contains("deliberate"))
        // In a suspend call, from the core runtime's blocking pool, too.
        localHandset().use { h ->
            val a = assertThrows<InternalException> { runBlocking { h.debugPanicAsync("deliberate too") } }
            assertTrue(a.message!!.contains("deliberate too"))
            assertNotNull(h.area(area))
        }
    }
}
