<?php
/*
 * Stand-in for Hawaii's login, used only by scripts/deploy-check: POST rol
 * plus rut (alumno) or email and user_id (profesor, admin), optional nombre;
 * it fills the PHP session the way the reference token endpoint reads it.
 * Never deploy this file: it logs anyone in as anyone.
 */
if ($_SERVER['REQUEST_METHOD'] !== 'POST') {
    http_response_code(405);
    exit;
}
session_start();
session_regenerate_id(true);
$_SESSION = array();
foreach (array('rol', 'rut', 'email', 'user_id', 'nombre') as $key) {
    if (isset($_POST[$key]) && $_POST[$key] !== '') {
        $_SESSION[$key] = (string) $_POST[$key];
    }
}
http_response_code(204);
