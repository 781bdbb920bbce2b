#pragma once

#include <QDialog>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QPushButton;
class QTabWidget;

namespace Swamp::Console {

// Shows a new token's secret once: the token with a copy button, the warning that it will not
// be shown again, and ready-to-paste deploy snippets for this orchestrator (those that install
// swamp once the package URL is given). It deletes itself
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
    // Where new machines download swamp's .deb, for the recipes that install it (remembered).
    QLineEdit *packageUrlEdit() const { return m_packageUrl; }
    // Whether the copy button of the snippet in `index` is enabled.
    bool canCopySnippet(int index) const;

    static QString warningText();

private:
    struct SnippetPage
    {
        QPlainTextEdit *text;
        QLabel *note;
        QPushButton *copy;
    };
    void createSnippetPages(const QFont &fixed);
    void updateSnippets();

    QLineEdit *m_token;
    QTabWidget *m_tabs;
    QLineEdit *m_packageUrl;
    QString m_workerUrl;
    QList<SnippetPage> m_pages;
};

} // namespace Swamp::Console
