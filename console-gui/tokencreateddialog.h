#pragma once

#include <QDialog>

class QLineEdit;
class QTabWidget;

namespace Swamp::Console {

// Shows a new token's secret once: the token with a copy button, the warning that it will not
// be shown again, and ready-to-paste deploy snippets for this orchestrator. It deletes itself
// when closed, and nothing else in the console keeps the secret.
class TokenCreatedDialog final : public QDialog
{
    Q_OBJECT
    Q_DISABLE_COPY_MOVE(TokenCreatedDialog)

public:
    TokenCreatedDialog(const QString &orchestratorUrl, const QString &token, const QString &summary,
                       QWidget *parent = nullptr);

    QString token() const;
    // The snippet texts in tab order (ssh, container, kubernetes, github-actions, cloud-init).
    QStringList snippets() const;
    QTabWidget *snippetTabs() const { return m_tabs; }

    static QString warningText();

private:
    QLineEdit *m_token;
    QTabWidget *m_tabs;
};

} // namespace Swamp::Console
