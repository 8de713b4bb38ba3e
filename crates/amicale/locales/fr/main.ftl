skip-to-content = Aller au contenu
nav-main = Navigation principale
nav-home = Accueil
nav-news = Actualités
nav-events = Événements
nav-directory = Annuaire
nav-mentoring = Mentorat
nav-jobs = Offres d'emploi
nav-messages = Messages
nav-admin = Administration
account-password = Mot de passe
logout = Se déconnecter
lang-label = Langue
lang-submit = Changer
footer-text = Amicale — plateforme libre pour les réseaux d'anciens et de partenaires.

login-title = Connexion
login-email = Adresse e-mail
login-password = Mot de passe
login-remember = Se souvenir de moi
login-submit = Se connecter
login-forgot = Mot de passe oublié ?
login-failed = Adresse e-mail ou mot de passe incorrect.
login-locked = Trop de tentatives échouées. Le compte est bloqué jusqu'à { $time }.
login-notice-reset = Votre mot de passe a été modifié. Vous pouvez vous connecter.
login-notice-logout = Vous êtes déconnecté.
login-demo-hint = Démonstration : l'adresse et le mot de passe de l'administrateur sont affichés dans le terminal qui a lancé le serveur.

form-email-required = Indiquez votre adresse e-mail.
form-email-invalid = Cette adresse e-mail n'est pas valide.
form-password-too-short = Le mot de passe doit contenir au moins { $min } caractères.
form-password-too-long = Le mot de passe est trop long.
form-password-mismatch = Les deux mots de passe ne sont pas identiques.

forgot-title = Mot de passe oublié
forgot-intro = Indiquez l'adresse e-mail de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.
forgot-submit = Envoyer le lien
forgot-sent = Si un compte existe pour cette adresse, un e-mail vient de lui être envoyé. Le lien est valable une heure.
forgot-back = Retour à la connexion

reset-title = Nouveau mot de passe
reset-new = Nouveau mot de passe
reset-confirm = Confirmez le mot de passe
reset-submit = Enregistrer le mot de passe
reset-invalid = Ce lien n'est plus valable : il a déjà servi ou a expiré. Vous pouvez en demander un nouveau.
reset-hint = Au moins { $min } caractères.
reset-again = Demander un nouveau lien

password-title = Changer de mot de passe
password-current = Mot de passe actuel
password-current-wrong = Le mot de passe actuel est incorrect.
password-new = Nouveau mot de passe
password-confirm = Confirmez le nouveau mot de passe
password-submit = Changer le mot de passe
password-done = Votre mot de passe a été changé. Vos autres sessions ont été fermées.

home-title = Accueil
home-welcome = Bonjour { $name } !
home-intro = Le réseau en chiffres :
home-members = membres
home-programmes = formations
home-organisations = entreprises partenaires

unavailable-text = Ce module n'est pas encore disponible dans cette version d'Amicale.

error-home = Retour à l'accueil
error-404-title = Page introuvable
error-404-text = La page demandée n'existe pas ou a été déplacée.
error-403-title = Accès refusé
error-403-text = Vous n'avez pas les droits nécessaires pour voir cette page.
error-csrf-title = Formulaire refusé
error-csrf-text = Le formulaire a expiré ou ne vient pas de ce site. Revenez en arrière, rechargez la page et recommencez.
error-500-title = Erreur interne
error-500-text = Une erreur inattendue s'est produite. Elle a été enregistrée ; réessayez dans un instant.

admin-title = Administration
admin-outbox = Boîte d'envoi
admin-outbox-intro = Tous les messages envoyés par la plateforme, leur état et la réponse du serveur.
admin-schedule = Tâches planifiées
admin-schedule-intro = Les tâches périodiques, leur prochaine exécution et leurs derniers passages.

outbox-title = Boîte d'envoi
outbox-catcher-on = Aucun serveur SMTP n'est configuré : les messages sont conservés ici (intercepteur de courrier) et ne partent pas.
outbox-smtp-on = Les messages partent par le serveur SMTP configuré.
outbox-empty = Aucun message.
outbox-col-state = État
outbox-col-to = Destinataire
outbox-col-subject = Objet
outbox-col-created = Créé le
outbox-col-attempts = Tentatives
outbox-older = Messages plus anciens
outbox-counts = Messages par état
state-queued = En attente
state-sending = En cours d'envoi
state-sent = Envoyé
state-deferred = Reporté
state-failed = Échec
state-cancelled = Annulé
state-suppressed = Supprimé
state-caught = Intercepté

message-title = Message
message-to = Destinataire
message-subject = Objet
message-state = État
message-created = Créé le
message-next = Prochaine tentative
message-sent = Envoyé le
message-answer = Réponse du serveur
message-id = Message-ID
message-attempts = Tentatives
message-html = Version HTML
message-text = Version texte
message-back = Retour à la boîte d'envoi

schedule-title = Tâches planifiées
schedule-tz = Heures affichées dans le fuseau du réseau : { $tz }.
schedule-col-task = Tâche
schedule-col-cron = Planification
schedule-col-next = Prochaine exécution
schedule-col-last = Derniers passages
schedule-never = Pas encore exécutée

mail-reset-subject = Réinitialisation de votre mot de passe
mail-reset-hello = Bonjour { $name },
mail-reset-body = Nous avons reçu une demande de nouveau mot de passe pour votre compte. Pour le choisir, ouvrez ce lien :
mail-reset-button = Choisir un nouveau mot de passe
mail-reset-expiry = Ce lien est valable une heure et ne sert qu'une fois.
mail-reset-ignore = Si vous n'êtes pas à l'origine de cette demande, ignorez ce message : votre mot de passe ne change pas.
