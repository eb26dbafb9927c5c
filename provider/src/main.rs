//! `terraform-provider-eventdriven`: serves the provider over Terraform's plugin protocol.

fn main() -> anyhow::Result<()> {
    // tf-provider appends a backtrace to every diagnostic when backtraces are enabled; users
    // should see AWS's message, not the provider's stack. Set before any thread exists.
    // SAFETY: the process is still single-threaded here.
    unsafe { std::env::set_var("RUST_LIB_BACKTRACE", "0") };
    // The AWS SDK and the plugin server's TLS both link rustls, which then cannot pick a
    // crypto provider on its own; ring's is the one Terraform's P-521 client certificates work with.
    rustls::crypto::ring::default_provider()
        .install_default()
        .map_err(|_| anyhow::anyhow!("a rustls crypto provider was already installed"))?;
    tokio::runtime::Runtime::new()?.block_on(tf_provider::serve(
        "eventdriven",
        terraform_provider_eventdriven::EventdrivenProvider::default(),
    ))
}
