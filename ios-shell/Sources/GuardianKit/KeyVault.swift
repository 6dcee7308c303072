// The database key and the login token in the Keychain.
//
// The key is 32 random bytes from SecRandomCopyBytes, stored as a generic
// password with kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly: readable
// by the background location and sync work once the phone has been
// unlocked after boot, never in a backup, never on another device. The
// core takes it as SQLCipher's raw key.
//
// A key is made only when there is no database yet. A database without its
// key is `KeyProblem.lost`: making a new key would only turn that into
// `StoreError.WrongKey`, and the officer must be told instead.

import Foundation
import Security

public enum KeyProblem: Error, Equatable {
    /// The key is gone (device restored, Keychain reset) but the database
    /// is still here: its data cannot be read again.
    case lost
    /// The phone has not been unlocked since it started: try again after
    /// unlocking. Nothing is wrong with the data.
    case locked
    /// The Keychain answered with an error (OSStatus).
    case keychain(OSStatus)
    /// The item holds something that is not a 32-byte key.
    case malformed
}

public struct KeyVault: Sendable {
    public let service: String
    static let keyAccount = "database-key"
    static let tokenAccount = "login-token"

    public init(service: String = "uk.police.guardian") {
        self.service = service
    }

    /// The database key: read, or made when `databaseExists` is false.
    public func databaseKey(databaseExists: Bool) throws -> Data {
        switch read(account: Self.keyAccount) {
        case .success(let key?):
            guard key.count == 32 else { throw KeyProblem.malformed }
            return key
        case .success(nil):
            if databaseExists { throw KeyProblem.lost }
            var bytes = Data(count: 32)
            let status = bytes.withUnsafeMutableBytes { raw in
                SecRandomCopyBytes(kSecRandomDefault, 32, raw.baseAddress!)
            }
            guard status == errSecSuccess else { throw KeyProblem.keychain(status) }
            try write(bytes, account: Self.keyAccount)
            return bytes
        case .failure(let problem):
            throw problem
        }
    }

    /// Forgets the key (for starting afresh after `KeyProblem.lost`).
    public func resetDatabaseKey() {
        delete(account: Self.keyAccount)
    }

    /// The force login's bearer token, if signed in.
    public func token() -> String? {
        guard case .success(let data?) = read(account: Self.tokenAccount) else { return nil }
        return String(data: data, encoding: .utf8)
    }

    public func storeToken(_ token: String) throws {
        delete(account: Self.tokenAccount)
        try write(Data(token.utf8), account: Self.tokenAccount)
    }

    public func forgetToken() {
        delete(account: Self.tokenAccount)
    }

    // MARK: Keychain

    private func query(account: String) -> [String: Any] {
        [
            kSecClass as String: kSecClassGenericPassword,
            kSecAttrService as String: service,
            kSecAttrAccount as String: account,
        ]
    }

    private func read(account: String) -> Result<Data?, KeyProblem> {
        var q = query(account: account)
        q[kSecReturnData as String] = true
        q[kSecMatchLimit as String] = kSecMatchLimitOne
        var item: CFTypeRef?
        let status = SecItemCopyMatching(q as CFDictionary, &item)
        switch status {
        case errSecSuccess:
            guard let data = item as? Data else { return .failure(.malformed) }
            return .success(data)
        case errSecItemNotFound:
            return .success(nil)
        case errSecInteractionNotAllowed:
            return .failure(.locked)
        default:
            return .failure(.keychain(status))
        }
    }

    private func write(_ data: Data, account: String) throws {
        var q = query(account: account)
        q[kSecValueData as String] = data
        q[kSecAttrAccessible as String] = kSecAttrAccessibleAfterFirstUnlockThisDeviceOnly
        let status = SecItemAdd(q as CFDictionary, nil)
        guard status == errSecSuccess else { throw KeyProblem.keychain(status) }
    }

    private func delete(account: String) {
        SecItemDelete(query(account: account) as CFDictionary)
    }
}
