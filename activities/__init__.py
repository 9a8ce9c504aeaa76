"""Every side effect of the workflows lives here: database writes, Stripe calls, PDFs, emails, webhooks."""
