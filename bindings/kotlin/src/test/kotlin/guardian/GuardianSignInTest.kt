package guardian

import com.sun.net.httpserver.HttpServer
import java.net.InetSocketAddress
import java.net.URI
import java.net.URLDecoder
import java.nio.charset.StandardCharsets
import java.util.concurrent.CopyOnWriteArrayList
import kotlinx.coroutines.runBlocking
import org.junit.jupiter.api.Assertions.assertEquals
import org.junit.jupiter.api.Assertions.assertNull
import org.junit.jupiter.api.Assertions.assertTrue
import org.junit.jupiter.api.Test
import org.junit.jupiter.api.assertThrows
import uniffi.guardian_ffi.GuardianEvent
import uniffi.guardian_ffi.SignInConfig
import uniffi.guardian_ffi.SyncException

/**
 * The force sign-in as the Android shell drives it: the core's URL for
 * Custom Tabs, the redirect handed back, a forged one refused, the
 * provider's refusal reported, and a handset with no sign-in telling the
 * shell to show one. A JDK HTTP server on loopback plays the provider's
 * discovery and token endpoints (Keycloak plays all of it in
 * scripts/keycloak-e2e.py).
 */
class GuardianSignInTest {
    private val redirect = "uk.police.guardian:/oauth2redirect"

    private fun query(url: String): Map<String, String> =
        (URI(url).rawQuery ?: "").split("&").filter { it.isNotEmpty() }.associate {
            val (k, v) = it.split("=", limit = 2)
            URLDecoder.decode(k, StandardCharsets.UTF_8) to URLDecoder.decode(v, StandardCharsets.UTF_8)
        }

    private fun provider(grants: MutableList<String>): Pair<HttpServer, String> {
        val server = HttpServer.create(InetSocketAddress("127.0.0.1", 0), 0)
        val issuer = "http://127.0.0.1:${server.address.port}/realm"
        fun reply(ex: com.sun.net.httpserver.HttpExchange, status: Int, body: String) {
            val bytes = body.toByteArray()
            ex.responseHeaders.add("Content-Type", "application/json")
            ex.sendResponseHeaders(status, bytes.size.toLong())
            ex.responseBody.use { it.write(bytes) }
        }
        server.createContext("/realm/.well-known/openid-configuration") { ex ->
            reply(ex, 200, """{"issuer":"$issuer","authorization_endpoint":"$issuer/auth","token_endpoint":"$issuer/token"}""")
        }
        server.createContext("/realm/token") { ex ->
            grants.add(String(ex.requestBody.readAllBytes()))
            reply(ex, 400, """{"error":"invalid_grant","error_description":"Code not valid"}""")
        }
        server.start()
        return server to issuer
    }

    @Test
    fun `the core's URL carries PKCE and only this attempt's redirect reaches the provider`() {
        val grants = CopyOnWriteArrayList<String>()
        val (server, issuer) = provider(grants)
        try {
            val h = openHandset(tempDir().resolve("h.db"))
            h.configureSignIn(SignInConfig(issuer, "guardian-handset", redirect, null, null))
            val url = runBlocking { h.beginSignIn() }
            assertTrue(url.startsWith("$issuer/auth?"), url)
            val q = query(url)
            assertEquals("code", q["response_type"])
            assertEquals("S256", q["code_challenge_method"])
            assertEquals(43, q["code_challenge"]?.length)
            assertEquals(redirect, q["redirect_uri"])
            val state = q.getValue("state")

            val forged = assertThrows<SyncException.Auth> {
                runBlocking { h.completeSignIn("$redirect?code=stolen&state=x$state") }
            }
            assertTrue(forged.message!!.contains("state"), forged.message)
            assertTrue(grants.isEmpty(), "nothing sent for a forged redirect")

            val again = query(runBlocking { h.beginSignIn() }).getValue("state")
            val refused = assertThrows<SyncException.Auth> {
                runBlocking { h.completeSignIn("$redirect?code=c0de&state=$again") }
            }
            assertTrue(refused.message!!.contains("invalid_grant"), refused.message)
            assertEquals(1, grants.size)
            assertTrue(grants[0].contains("grant_type=authorization_code") && grants[0].contains("code_verifier="))
            assertNull(h.officer())
            h.close()
        } finally {
            server.stop(0)
        }
    }

    @Test
    fun `with no sign-in sync waits and the shell is told to show one`() {
        val (server, issuer) = provider(CopyOnWriteArrayList())
        Force.start(tempDir()).use { force ->
            try {
                val h = openHandset(tempDir().resolve("h.db"), force.url)
                val events = Events()
                h.setEventListener(events)
                h.configureSignIn(SignInConfig(issuer, "guardian-handset", redirect, null, null))
                h.startSync(null)
                assertThrows<SyncException.Auth> { runBlocking { h.syncNow() } }
                assertTrue(events.seen.any { it is GuardianEvent.AuthRequired }, "${events.seen}")
                assertThrows<SyncException.Config> {
                    h.configureSignIn(SignInConfig("http://login.example.org/realm", "c", redirect, null, null))
                }
                h.stopSync()
                h.close()
            } finally {
                server.stop(0)
            }
        }
    }

    @Test
    fun `an officer signs in through the force's provider, and a restart renews from the stored refresh token`() {
        IdentityProvider().use { idp ->
            Force.startTrusting(tempDir(), idp).use { force ->
                val path = tempDir().resolve("h.db")
                val config = SignInConfig(idp.issuer, "guardian-handset", redirect, null, null)
                fun handset(events: Events = Events()) = openHandset(path, force.url).also {
                    it.setEventListener(events)
                    it.configureSignIn(config)
                    it.startSync(null)
                }
                val h = handset()
                val url = runBlocking { h.beginSignIn() }
                assertEquals(OFFICER_ID, runBlocking { h.completeSignIn(idp.browse(url)) })
                runBlocking { h.syncNow() }
                assertEquals(OFFICER_ID, h.officer()?.officerId, "the backend took the provider's access token")
                assertEquals(0, idp.refreshes.get())
                h.stopSync()
                h.close()

                // The process restarts: the access token was in memory only.
                val again = handset()
                runBlocking { again.syncNow() }
                assertEquals(1, idp.refreshes.get(), "renewed from the encrypted store's refresh token")
                again.stopSync()
                again.close()

                // The force revokes the sign-in: the next start is told to sign in.
                idp.revokeAll()
                val events = Events()
                val third = handset(events)
                assertThrows<SyncException.Auth> { runBlocking { third.syncNow() } }
                assertTrue(events.seen.any { it is GuardianEvent.AuthRequired }, "${events.seen}")
                assertEquals(OFFICER_ID, third.officer()?.officerId, "nothing of the officer's is dropped")
                third.stopSync()
                third.close()
            }
        }
    }
}
