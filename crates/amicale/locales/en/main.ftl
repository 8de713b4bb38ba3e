skip-to-content = Skip to content
nav-main = Main navigation
nav-home = Home
nav-news = News
nav-events = Events
nav-directory = Directory
nav-mentoring = Mentoring
nav-jobs = Jobs
nav-messages = Messages
nav-admin = Administration
account-password = Password
logout = Log out
lang-label = Language
lang-submit = Change
footer-text = Amicale — open platform for alumni and partner networks.

login-title = Log in
login-email = E-mail address
login-password = Password
login-remember = Remember me
login-submit = Log in
login-forgot = Forgot your password?
login-failed = Incorrect e-mail address or password.
login-locked = Too many failed attempts. The account is locked until { $time }.
login-notice-reset = Your password was changed. You can log in.
login-notice-logout = You are logged out.
login-demo-hint = Demo: the administrator's e-mail and password are printed in the terminal that started the server.

form-email-required = Enter your e-mail address.
form-email-invalid = This e-mail address is not valid.
form-password-too-short = The password must have at least { $min } characters.
form-password-too-long = The password is too long.
form-password-mismatch = The two passwords differ.

forgot-title = Forgot your password
forgot-intro = Enter your account's e-mail address: we will send you a link to choose a new password.
forgot-submit = Send the link
forgot-sent = If an account exists for this address, an e-mail was just sent to it. The link is valid for one hour.
forgot-back = Back to log in

reset-title = New password
reset-new = New password
reset-confirm = Confirm the password
reset-submit = Save the password
reset-invalid = This link is no longer valid: it was already used or has expired. You can ask for a new one.
reset-hint = At least { $min } characters.
reset-again = Ask for a new link

password-title = Change password
password-current = Current password
password-current-wrong = The current password is incorrect.
password-new = New password
password-confirm = Confirm the new password
password-submit = Change the password
password-done = Your password was changed. Your other sessions were closed.

home-title = Home
home-welcome = Hello { $name }!
home-intro = The network in figures:
home-members = members
home-programmes = programmes
home-organisations = partner companies

unavailable-text = This module is not available yet in this version of Amicale.

error-home = Back to the home page
error-404-title = Page not found
error-404-text = The page you asked for does not exist or has moved.
error-403-title = Access denied
error-403-text = You do not have the rights needed to see this page.
error-csrf-title = Form refused
error-csrf-text = The form expired or did not come from this site. Go back, reload the page and try again.
error-500-title = Internal error
error-500-text = Something unexpected went wrong. It was logged; try again in a moment.

admin-title = Administration
admin-outbox = Outbox
admin-outbox-intro = Every message the platform sends, its state and the server's answer.
admin-schedule = Scheduled tasks
admin-schedule-intro = The periodic tasks, their next run and their latest runs.

outbox-title = Outbox
outbox-catcher-on = No SMTP server is configured: messages are kept here (mail catcher) and do not leave.
outbox-smtp-on = Messages leave through the configured SMTP server.
outbox-empty = No messages.
outbox-col-state = State
outbox-col-to = Recipient
outbox-col-subject = Subject
outbox-col-created = Created
outbox-col-attempts = Attempts
outbox-older = Older messages
outbox-counts = Messages by state
state-queued = Queued
state-sending = Sending
state-sent = Sent
state-deferred = Deferred
state-failed = Failed
state-cancelled = Cancelled
state-suppressed = Suppressed
state-caught = Caught

message-title = Message
message-to = Recipient
message-subject = Subject
message-state = State
message-created = Created
message-next = Next attempt
message-sent = Sent
message-answer = Server answer
message-id = Message-ID
message-attempts = Attempts
message-html = HTML version
message-text = Text version
message-back = Back to the outbox

schedule-title = Scheduled tasks
schedule-tz = Times shown in the network's time zone: { $tz }.
schedule-col-task = Task
schedule-col-cron = Schedule
schedule-col-next = Next run
schedule-col-last = Latest runs
schedule-never = Not run yet

mail-reset-subject = Reset your password
mail-reset-hello = Hello { $name },
mail-reset-body = We received a request for a new password for your account. To choose it, open this link:
mail-reset-button = Choose a new password
mail-reset-expiry = This link is valid for one hour and works only once.
mail-reset-ignore = If you did not ask for this, ignore this message: your password does not change.
