//! The fuzz targets on the stable toolchain: every committed corpus file
//! (`fuzz/corpus/<target>/`), then seeded mutations of them, through the
//! same entry points the cargo-fuzz targets call (`fuzz/`,
//! `scripts/fuzz-core.sh`). `GUARDIAN_FUZZ_MUTANTS` sets how many mutants
//! per target (default 3,000); `GUARDIAN_FUZZ_SEED` the seed.

use std::path::Path;

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[test]
fn every_fuzz_target_survives_its_corpus_and_seeded_mutations() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    let mutants = env_or("GUARDIAN_FUZZ_MUTANTS", 3_000) as usize;
    let seed = env_or("GUARDIAN_FUZZ_SEED", 14);
    for (name, target) in guardian_core::fuzz::TARGETS {
        let corpus = root.join("corpus").join(name);
        let ran = guardian_core::fuzz::replay(&corpus, &root.join("crashes"), mutants, seed, *target)
            .unwrap_or_else(|e| panic!("corpus {}: {e}", corpus.display()));
        assert!(
            ran.corpus >= 3,
            "{name}: a corpus worth the name ({} files)",
            ran.corpus
        );
    }
}

#[test]
fn the_html_oracle_catches_what_it_must() {
    let caught = |html: &str| std::panic::catch_unwind(|| guardian_core::fuzz::check_html(html)).is_err();
    for bad in [
        "<a href=\"javascript:alert(1)\">x</a>",
        "<p onclick=\"x\">y</p>",
        "<img src=x>",
        "<script>x</script>",
        "<a href='java\tscript:x'>y</a>",
        "<p title=\"a > b\" onmouseover=x>y</p>",
    ] {
        assert!(caught(bad), "{bad} passed the oracle");
    }
    guardian_core::fuzz::check_html("<p>a &lt;script&gt; onclick=x <a href=\"https://example.org\">ok</a></p>");
}
