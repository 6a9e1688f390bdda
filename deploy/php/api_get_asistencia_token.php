<?php
/*
 * Reference /api_get_asistencia_token.php for Hawaii (docs/deployment.md).
 *
 * GET, with Hawaii's PHP session cookie: 200 {"token": "<HS256 JWT>"} for a
 * logged-in user, 401 otherwise. The JWT carries the claims asistencia
 * checks: userId, username, rol, nombreCompleto, iat, nbf, exp (5 minutes),
 * jti, and iss/aud when JWT_ISSUER/JWT_AUDIENCE are set.
 *
 * The secret is read from the backend's own .env (JWT_SECRET), so there is
 * one secret in one file. Its path: the ASISTENCIA_ENV_FILE environment
 * variable (Apache: SetEnv ASISTENCIA_ENV_FILE /path/to/.env), else
 * /opt/asistencia/.env. Apache's user must be able to read it.
 *
 * PHP 7.4 and 8.x, no libraries: HS256 is HMAC-SHA256 over
 * base64url(header) . "." . base64url(claims).
 *
 * hawaii_user() is the one function to adapt: it reads who is logged in from
 * Hawaii's session.
 */

const ASISTENCIA_DEFAULT_ENV_FILE = '/opt/asistencia/.env';
const ASISTENCIA_TOKEN_TTL_SECONDS = 300;
const ASISTENCIA_MIN_SECRET_BYTES = 32;
const ASISTENCIA_ROLES = array('alumno', 'profesor', 'admin');

/**
 * The logged-in user as asistencia's claims, or null. Adapt to Hawaii's
 * session keys: students are identified by RUT (userId = abs(crc32(RUT))),
 * staff by e-mail and their numeric id.
 */
function hawaii_user(array $session)
{
    $rol = isset($session['rol']) ? (string) $session['rol'] : '';
    if (!in_array($rol, ASISTENCIA_ROLES, true)) {
        return null;
    }
    if ($rol === 'alumno') {
        if (empty($session['rut'])) {
            return null;
        }
        $username = (string) $session['rut'];
        $userId = abs(crc32($username));
    } else {
        if (empty($session['email']) || !isset($session['user_id'])) {
            return null;
        }
        $username = (string) $session['email'];
        $userId = (int) $session['user_id'];
    }
    $user = array('userId' => $userId, 'username' => asistencia_utf8($username), 'rol' => $rol);
    if (!empty($session['nombre'])) {
        $user['nombreCompleto'] = asistencia_utf8((string) $session['nombre']);
    }
    return $user;
}

/** Text as UTF-8: a legacy session may hold ISO-8859-1 ("Muñoz"), which json_encode refuses. */
function asistencia_utf8($text)
{
    return preg_match('//u', $text) === 1 ? $text : iconv('ISO-8859-1', 'UTF-8', $text);
}

/** One KEY=value setting of a .env file (comments, blank lines, quotes and "export " allowed), or null. */
function asistencia_setting($path, $name)
{
    $lines = @file($path, FILE_IGNORE_NEW_LINES);
    if ($lines === false) {
        return null;
    }
    foreach ($lines as $line) {
        $line = trim($line);
        if ($line === '' || $line[0] === '#') {
            continue;
        }
        if (strncmp($line, 'export ', 7) === 0) {
            $line = ltrim(substr($line, 7));
        }
        $equals = strpos($line, '=');
        if ($equals === false || rtrim(substr($line, 0, $equals)) !== $name) {
            continue;
        }
        $value = trim(substr($line, $equals + 1));
        $length = strlen($value);
        if ($length >= 2 && ($value[0] === '"' || $value[0] === "'") && $value[$length - 1] === $value[0]) {
            $value = substr($value, 1, -1);
        }
        return $value;
    }
    return null;
}

function asistencia_base64url($bytes)
{
    return rtrim(strtr(base64_encode($bytes), '+/', '-_'), '=');
}

function asistencia_jwt(array $claims, $secret)
{
    $flags = JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE;
    $signed = asistencia_base64url(json_encode(array('alg' => 'HS256', 'typ' => 'JWT'), $flags))
        . '.' . asistencia_base64url(json_encode($claims, $flags));
    return $signed . '.' . asistencia_base64url(hash_hmac('sha256', $signed, $secret, true));
}

function asistencia_reply($status, array $body)
{
    http_response_code($status);
    header('Content-Type: application/json; charset=utf-8');
    header('Cache-Control: no-store');
    echo json_encode($body, JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    exit;
}

function asistencia_refuse($status, $code, $message)
{
    asistencia_reply($status, array('error' => array('code' => $code, 'message' => $message)));
}

if ($_SERVER['REQUEST_METHOD'] !== 'GET') {
    header('Allow: GET');
    asistencia_refuse(405, 'METHOD_NOT_ALLOWED', 'Use GET');
}

session_start();
$user = hawaii_user($_SESSION);
session_write_close();
if ($user === null) {
    asistencia_refuse(401, 'NOT_LOGGED_IN', 'Inicia sesión en Hawaii para usar Asistencia');
}

$envFile = getenv('ASISTENCIA_ENV_FILE');
if ($envFile === false || $envFile === '') {
    $envFile = ASISTENCIA_DEFAULT_ENV_FILE;
}
$secret = asistencia_setting($envFile, 'JWT_SECRET');
if ($secret === null || strlen($secret) < ASISTENCIA_MIN_SECRET_BYTES) {
    error_log("api_get_asistencia_token.php: no usable JWT_SECRET in $envFile (missing, unreadable or shorter than "
        . ASISTENCIA_MIN_SECRET_BYTES . ' bytes)');
    asistencia_refuse(500, 'TOKEN_UNAVAILABLE', 'Asistencia no está configurada en este servidor');
}

$now = time();
$claims = $user + array(
    'iat' => $now,
    'nbf' => $now,
    'exp' => $now + ASISTENCIA_TOKEN_TTL_SECONDS,
    'jti' => bin2hex(random_bytes(16)),
);
$issuer = asistencia_setting($envFile, 'JWT_ISSUER');
if ($issuer !== null && $issuer !== '') {
    $claims['iss'] = $issuer;
}
$audience = asistencia_setting($envFile, 'JWT_AUDIENCE');
if ($audience !== null && $audience !== '') {
    $claims['aud'] = $audience;
}
asistencia_reply(200, array('token' => asistencia_jwt($claims, $secret)));
