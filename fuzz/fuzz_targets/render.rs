#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(
    init: {
        aimc_fuzz::init();
    },
    |data: &[u8]| {
        let _ = aimc_fuzz::run(data);
    }
);
